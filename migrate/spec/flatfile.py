"""Flat-file extracts as legacy systems hand them over.

A delimited extract may come without a header row (its column order given by a separate
data dictionary), with any delimiter (TAB, pipe), an unusual quote character (``^``) or none,
an escape character and any encoding. The reader takes all of it from here; the pipeline and
reconciliation each read the file with their own code from the same declaration.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator, model_validator

from migrate.spec.base import Strict
from migrate.spec.layout import FixedWidth
from migrate.spec.pathfields import PathRule

# How a delimiter may be written besides the character itself ("\t" in double quotes)
_NAMED = {"tab": "\t", "\\t": "\t", "pipe": "|", "comma": ",", "semicolon": ";"}
RESERVED_PREFIX = "_"  # ``_line`` and the readers' ``_read_*`` columns


def _one_character(value: Any, what: str) -> Any:
    if isinstance(value, str) and len(value) != 1:
        raise ValueError(f"{what} must be one character, got {value!r}")
    return value


class FlatFile(Strict):
    """A flat-file extract handed over by a legacy system: delimited text, or fixed-width."""

    path: Annotated[str, PathRule("flat file", "working folder", env="env")] = Field(
        description="relative to the working folder without `..`, or below a leading "
        "`${MIGRATE_...}` variable, or under a folder declared in `[safety] file_roots` "
        "(docs/how-to/run-a-migration.md, 'Which files a mapping may read')"
    )
    encoding: str = Field(
        default="utf-8",
        description="text encoding of the file (utf-8, cp1252, latin-1, ...); a leading "
        "byte-order mark is skipped; a record with bytes the encoding cannot decode is "
        "rejected as unreadable_record",
    )
    delimiter: str = Field(
        default=",",
        description='one character between fields; TAB as "\\t" (in double quotes) or `tab`',
    )
    quotechar: str | None = Field(
        default='"',
        description="character around a field that holds the delimiter (a real export used "
        '`^`); `null` (or "") for a file without quoting; inside a quoted field the quote '
        "character is doubled",
    )
    escapechar: str | None = Field(
        default=None, description="character that makes the next one literal (e.g. `\\`)"
    )
    header: bool = Field(
        default=True,
        description="whether the first record names the columns; without one, `columns` "
        "must name them",
    )
    columns: list[str] | None = Field(
        default=None,
        description="the columns in file order (from the extract's data dictionary); with "
        "`header: true` the header must name the same columns in the same order (a file whose "
        "columns moved is refused, never read shifted); a record with more or fewer fields is "
        "rejected as unreadable_record",
    )
    env: str | None = Field(default=None, description="environment variable overriding path")
    fixed: FixedWidth | None = Field(
        default=None, description="read by positions (a layout or a copybook), not delimited"
    )

    @field_validator("delimiter", mode="before")
    @classmethod
    def _delimiter(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = _NAMED.get(value.lower() if len(value) > 1 else value, value)
        return _one_character(value, "delimiter")

    @field_validator("quotechar", "escapechar", mode="before")
    @classmethod
    def _optional_character(cls, value: Any) -> Any:
        return None if value == "" else _one_character(value, "quote and escape characters")

    @field_validator("columns")
    @classmethod
    def _column_names(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("columns needs at least one name")
        seen: set[str] = set()
        for name in value:
            if not name.strip():
                raise ValueError("a column name is blank")
            if name.startswith(RESERVED_PREFIX):
                raise ValueError(f"column {name!r}: names starting with '_' are reserved")
            if name in seen:
                raise ValueError(f"column {name!r} is named twice")
            seen.add(name)
        return value

    @model_validator(mode="after")
    def _named_columns(self) -> FlatFile:
        if self.fixed is None and not self.header and self.columns is None:
            raise ValueError("a file without a header (header: false) needs `columns`")
        if len({self.delimiter, self.quotechar, self.escapechar} - {None}) < len(
            [c for c in (self.delimiter, self.quotechar, self.escapechar) if c is not None]
        ):
            raise ValueError("delimiter, quotechar and escapechar must differ")
        return self
