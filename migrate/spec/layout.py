"""Fixed-width record layouts: a mainframe extract read by positions, in ASCII or EBCDIC."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from migrate.spec.base import Strict


class FixedField(Strict):
    """One field of a fixed-width record: where it sits and how its bytes hold the value."""

    name: str
    start: int = Field(ge=1, description="1-based byte position of the field's first byte")
    length: int = Field(ge=1, description="bytes the field takes in the record")
    type: Literal["text", "zoned", "packed"] = Field(
        default="text",
        description="text; zoned: signed zoned decimal (overpunch); packed: COMP-3",
    )
    scale: int = Field(default=0, ge=0, description="implied decimals of a zoned/packed number")


class FixedWidth(Strict):
    """A fixed-width record layout, given field by field or by a COBOL copybook."""

    fields: list[FixedField] | None = None
    copybook: str | None = Field(
        default=None, description="COBOL copybook path, relative to the mapping file's folder"
    )
    record_length: int | None = Field(default=None, ge=1, description="bytes per record")
