"""The target definition: a staging table declared as data (YAML), checked like a mapping.

One file declares one table, or one ERP object holding several tables (``object:`` with
``tables:``). Users declare only their own columns: the tool's lineage columns
(``MIG_RUN_ID`` ...), the unique constraint on the key and the delta run's
``MIG_REPLACED_`` twin are added by :mod:`migrate.targets.build`, never declared.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import (
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from migrate.spec.base import Strict
from migrate.spec.steps import suggest
from migrate.staging.lineage_columns import LINEAGE_COLUMNS, REPLACED_PREFIX

ColumnType = Literal[
    "text", "money", "integer", "bigint", "decimal", "date", "timestamp", "boolean"
]

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_$#]*$")
MAX_COLUMN = 60  # PostgreSQL keeps 63 characters of a name, MariaDB allows 64
MAX_TABLE = 43  # the tool's names for a table's twin and indexes add up to 20 characters
_SIZED = {"text": ("length",), "decimal": ("precision", "scale"), "money": ("precision", "scale")}
_FORMATS = {"date", "timestamp", "text"}


class ColumnDef(Strict):
    """One column a mapping fills: its type and what a value must be to be staged."""

    type: ColumnType = Field(
        description="text, money, integer (32-bit), bigint (64-bit), decimal, date, "
        "timestamp or boolean. Money is an exact amount kept as integer cents by the "
        "pipeline; decimal is any other exact number."
    )
    length: int | None = Field(
        default=None, ge=1, description="text: the maximum length in characters"
    )
    precision: int | None = Field(
        default=None,
        ge=1,
        le=38,
        description="decimal and money: total digits (money defaults to 18)",
    )
    scale: int | None = Field(
        default=None,
        ge=0,
        description="decimal and money: digits after the decimal point (money is 2)",
    )
    required: bool = Field(default=False, description="the column may not be empty (NOT NULL)")
    allowed: list[str | int] | None = Field(
        default=None, description="the only values the column may take (a list)"
    )
    default: str | int | bool | None = Field(
        default=None, description="the value staged when a mapping gives none"
    )
    format: str | None = Field(
        default=None,
        description="how the ERP's import file writes the value, e.g. YYYY/MM/DD for a date",
    )
    true_values: list[str | int] | None = Field(
        default=None,
        description="boolean: the spellings read as true (any case; default true, t, yes, y, 1)",
    )
    false_values: list[str | int] | None = Field(
        default=None,
        description="boolean: the spellings read as false (any case; default false, f, no, n, 0)",
    )
    position: int | None = Field(
        default=None, ge=1, description="the column's position in the ERP's import file (1-based)"
    )
    hint: str | None = Field(
        default=None, description="the vendor's own note on the column, kept verbatim"
    )
    description: str | None = Field(
        default=None, description="what the column holds (becomes the database comment)"
    )

    @model_validator(mode="after")
    def _sizes_fit_type(self) -> ColumnDef:
        for attr in ("length", "precision", "scale"):
            if getattr(self, attr) is not None and attr not in _SIZED.get(self.type, ()):
                raise ValueError(f"{attr} does not apply to type {self.type}")
        if self.format is not None and self.type not in _FORMATS:
            raise ValueError(f"format does not apply to type {self.type}")
        spelt = [*(self.true_values or []), *(self.false_values or [])]
        if spelt and self.type != "boolean":
            raise ValueError(f"true_values and false_values do not apply to type {self.type}")
        if len({str(v).strip().lower() for v in spelt}) != len(spelt):
            raise ValueError("a spelling is listed twice (true_values and false_values)")
        if self.type == "money" and self.scale not in (None, 2):
            raise ValueError(
                "money has scale 2 (the pipeline keeps amounts as integer cents); "
                "declare decimal for another scale"
            )
        if self.type == "money" and self.precision is not None and self.precision > 18:
            raise ValueError("money precision is at most 18 (cents must fit a 64-bit integer)")
        if self.scale is not None and self.precision is None:
            raise ValueError("scale needs a precision")
        if self.scale is not None and self.precision is not None and self.scale > self.precision:
            raise ValueError(f"scale {self.scale} exceeds precision {self.precision}")
        if self.allowed is not None and not self.allowed:
            raise ValueError("allowed lists no value")
        if (
            self.allowed is not None
            and self.default is not None
            and self.default not in self.allowed
        ):
            raise ValueError(f"default {self.default!r} is not one of the allowed values")
        return self


class IndexDef(Strict):
    """An index on staging (a unique one, or one that speeds up a lookup)."""

    name: str | None = Field(default=None, description="index name (default: ix_<table>_<n>)")
    columns: list[str] = Field(min_length=1, description="the indexed columns, in order")
    unique: bool = Field(default=False, description="no two rows share these values")


class Layout(Strict):
    """Where a definition was imported from (a vendor's layout); what its import file needs.

    ``migrate targets build-pack`` writes ``sha256`` to ``required_unstaged``, so
    ``migrate export`` writes the ERP's files from the pack alone, without the layout files.
    A key left unset is not written (an imported definition says only what it knows)."""

    vendor: str = Field(description="whose layout, e.g. Oracle Fusion FBDI")
    file: str = Field(description="the layout file it was imported from")
    sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-f]{64}$",
        description="the SHA-256 of that layout file (the export's manifest names it, and "
        "export verify reads only a layout file of this hash)",
    )
    fields: int | None = Field(
        default=None,
        ge=1,
        description="the number of fields of an import file's record (the layout's last "
        "position): every one is written, empty where the table stages no column",
    )
    import_file: str | None = Field(
        default=None,
        description="the ZIP of the ERP's import process the table's file travels in, "
        "e.g. GlInterface.zip (tables of one object share it)",
    )
    member: str | None = Field(
        default=None, description="the table's CSV inside that ZIP, e.g. GlInterface.csv"
    )
    required_unstaged: list[str] | None = Field(
        default=None,
        description="columns the layout requires that the table does not stage: an export "
        "of it is refused (the ERP would reject every record)",
    )
    loader_columns: list[str] = Field(
        default_factory=list,
        description="columns the ERP's loader sets itself (never in the import file)",
    )

    @model_validator(mode="after")
    def _member_with_file(self) -> Layout:
        if (self.import_file is None) != (self.member is None):
            raise ValueError("import_file and member go together (the ZIP and its CSV)")
        return self

    @model_serializer(mode="wrap")
    def _omit_unset(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        return {k: v for k, v in data.items() if v is not None}


class TableDef(Strict):
    """One staging table: its columns (in import-file order), key and indexes."""

    table: str = Field(description="the staging table's name")
    description: str | None = Field(default=None, description="what the table holds")
    key: list[str] = Field(
        description="the columns that identify a row (the target key): a re-run replaces, "
        "never duplicates, a row with the same key"
    )
    columns: dict[str, ColumnDef] = Field(min_length=1, description="column name: definition")
    indexes: list[IndexDef] = Field(default_factory=list, description="extra indexes")
    layout: Layout | None = Field(default=None, description="the vendor layout it came from")

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str) -> str:
        _check_name(value, "table", MAX_TABLE)
        if value.upper().startswith("MIG_"):
            raise ValueError(f"table {value}: names starting MIG_ are the tool's own")
        return value


class ObjectDef(Strict):
    """An ERP object staged in several tables (an invoice: header and lines), one file."""

    object: str = Field(description="the ERP object's name, e.g. payables_invoice")
    description: str | None = Field(default=None, description="what the object is")
    tables: list[TableDef] = Field(min_length=1, description="its tables")


def _check_name(name: str, what: str, most: int) -> None:
    if not NAME.match(name):
        raise ValueError(f"{what} name {name!r} is not a plain SQL identifier")
    if len(name) > most:
        raise ValueError(f"{what} name {name!r} is longer than {most} characters")


def table_problems(table: TableDef) -> list[tuple[tuple[str | int, ...], str]]:
    """What the fields alone cannot say: key and index columns exist, no tool column is
    declared. Each problem comes with the key path to point at."""
    out: list[tuple[tuple[str | int, ...], str]] = []
    names = list(table.columns)
    upper = {n.upper() for n in names}
    for name in names:
        try:
            _check_name(name, "column", MAX_COLUMN)
        except ValueError as exc:
            out.append((("columns", name), str(exc)))
        if name.upper() in LINEAGE_COLUMNS or name.upper().startswith(REPLACED_PREFIX):
            out.append((("columns", name), f"{name} is added by the tool: do not declare it"))
    if len(upper) != len(names):
        out.append((("columns",), "two columns differ only in letter case"))
    if not table.key:
        out.append(
            (
                ("key",),
                "a target needs a key (the columns that identify a row), so a re-run "
                "never duplicates a row",
            )  # fmt: skip
        )
    for i, col in enumerate(table.key):
        if col not in table.columns:
            out.append((("key", i), f"unknown column {col!r}{suggest(col, names)}"))
        elif not table.columns[col].required:
            out.append((("columns", col, "required"), f"key column {col} must be required"))
    for i, index in enumerate(table.indexes):
        for j, col in enumerate(index.columns):
            if col not in table.columns:
                path: tuple[str | int, ...] = ("indexes", i, "columns", j)
                out.append((path, f"unknown column {col!r}{suggest(col, names)}"))
    for cname, cdef in table.columns.items():
        if cdef.format is not None:
            why = format_element_problem(cdef.format)
            if why is not None:
                out.append((("columns", cname, "format"), why))
    positions: dict[int, str] = {}
    for cname, cdef in table.columns.items():
        if cdef.position is None:
            continue
        if cdef.position in positions:
            msg = f"position {cdef.position} is also {positions[cdef.position]}'s"
            out.append((("columns", cname, "position"), msg))
        positions[cdef.position] = cname
    return out


def format_element_problem(fmt: str) -> str | None:
    """Why the tool can neither check nor write a ``format`` (on a text, date or timestamp
    column), or None. Said when the definition loads: before, ``format: YYYY/MON/DD`` on a
    date passed the check and the run, and only ``migrate export`` stopped on it."""
    from migrate.validate.declared import format_elements, format_regex

    if format_regex(fmt) is not None:
        return None
    known = ", ".join(format_elements())
    return f"format {fmt!r} holds an element the tool cannot check or write (known: {known})"
