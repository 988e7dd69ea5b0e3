"""Fixed-width record layouts: a mainframe extract read by positions, in ASCII or EBCDIC.

A layout is given field by field (``fields``) or by the COBOL copybook that describes the
records (``copybook``), never both. Records are newline-terminated lines, fixed-length blocks
(``RECFM=FB``: ``record_length`` bytes each, no delimiter) or variable-length records each
behind its 4-byte record descriptor word (``RECFM=VB`` transferred with the RDW kept). The
file's ``encoding`` (``source.file.encoding``: ``ascii``, ``latin-1``, ``cp037`` for
EBCDIC...) decodes text fields; positions are bytes (a multi-byte encoding is decoded
field by field).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from migrate.spec.base import Strict
from migrate.spec.pathfields import PathRule


class FixedField(Strict):
    """One field of a fixed-width record: where it sits and how its bytes hold the value."""

    name: str = Field(description="column name the mapping's `from:` uses")
    start: int = Field(ge=1, description="1-based byte position of the field's first byte")
    length: int = Field(ge=1, description="bytes the field takes in the record")
    type: Literal["text", "zoned", "packed"] = Field(
        default="text",
        description=(
            "text: decoded in the file's encoding, trailing spaces removed; zoned: signed "
            "zoned decimal (PIC S9 DISPLAY, the sign overpunched on the last digit); packed: "
            "COMP-3 (two digits a byte, the sign in the last half-byte)"
        ),
    )
    scale: int = Field(
        default=0,
        ge=0,
        description="implied decimals of a zoned/packed number (the digits after PIC's V)",
    )

    @model_validator(mode="after")
    def _scale_fits(self) -> FixedField:
        if self.type == "text" and self.scale:
            raise ValueError(f"field {self.name}: a text field has no scale")
        digits = self.digits
        if self.type != "text" and self.scale > digits:
            raise ValueError(
                f"field {self.name}: scale {self.scale} is more than its {digits} digit(s)"
            )
        return self

    @property
    def digits(self) -> int:
        """Digits a number of this length holds (a packed byte holds two, less the sign)."""
        return self.length * 2 - 1 if self.type == "packed" else self.length

    @property
    def end(self) -> int:
        """The 0-based position just past the field's last byte."""
        return self.start - 1 + self.length


class FixedWidth(Strict):
    """A fixed-width record layout, given field by field or by a COBOL copybook."""

    fields: list[FixedField] | None = Field(
        default=None, description="the record's fields in order (or give `copybook`)"
    )
    copybook: Annotated[str | None, PathRule("copybook", "mapping's folder")] = Field(
        default=None,
        description=(
            "COBOL copybook path, relative to the mapping file's folder without `..` (or "
            "below a leading `${MIGRATE_...}` variable, or under a folder declared in "
            "`[safety] file_roots`): level numbers, "
            "PIC X(n), PIC S9(n)V9(m) DISPLAY (zoned) and COMP-3 (packed), FILLER; REDEFINES, "
            "OCCURS and binary COMP are refused with the copybook's file:line"
        ),
    )
    records: Literal["lines", "fixed", "rdw"] = Field(
        default="lines",
        description=(
            "lines: each record ends with the encoding's newline (a CR before it is dropped); "
            "fixed: blocks of `record_length` bytes, no delimiter (RECFM=FB); rdw: each "
            "record behind a 4-byte record descriptor word (RECFM=VB, RDW kept)"
        ),
    )
    record_length: int | None = Field(
        default=None,
        ge=1,
        description=(
            "bytes per record; required for `records: fixed`. A record shorter than the "
            "layout's last field is rejected as unreadable; bytes past it are ignored"
        ),
    )

    @model_validator(mode="after")
    def _one_layout(self) -> FixedWidth:
        if (self.fields is None) == (self.copybook is None):
            raise ValueError("give either `fields` or `copybook`, not both nor neither")
        if self.records == "fixed" and self.record_length is None:
            raise ValueError("`records: fixed` needs `record_length`")
        if self.fields is not None:
            names = [f.name for f in self.fields]
            doubled = sorted({n for n in names if names.count(n) > 1})
            if doubled:
                raise ValueError(f"field name(s) declared twice: {', '.join(doubled)}")
            if not self.fields:
                raise ValueError("`fields` is empty")
            _no_overlap(self.fields)
            end = max(f.end for f in self.fields)
            if self.record_length is not None and self.record_length < end:
                raise ValueError(
                    f"record_length {self.record_length} is shorter than the layout ({end} bytes)"
                )
        return self


def _no_overlap(fields: list[FixedField]) -> None:
    """Two fields over the same bytes are a typo in a position (REDEFINES is refused too)."""
    ordered = sorted(fields, key=lambda f: f.start)
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.start <= a.end:
            raise ValueError(
                f"fields {a.name} (bytes {a.start}-{a.end}) and {b.name} (from byte {b.start}) "
                "overlap"
            )
