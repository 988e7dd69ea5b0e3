"""Oracle Fusion FBDI import files: one ZIP per import process, CSVs in the layout's order.

What a file needs comes from the shipped pack (``migrate/targets/packs/oracle_fusion/``),
generated from Oracle's layouts by ``migrate targets build-pack``: each column's position
and hint (dates ``YYYY/MM/DD``, timestamps ``YYYY/MM/DD HH24:MI:SS:FF``, numbers with a
``.``, ``char(N)`` limits), its type and length, a record's number of fields, each table's
ZIP and member. So an installed tool exports without the layout files. ``--layouts DIR``
reads the vendor's ``<TABLE>.columns.csv`` instead (a newer layout than the pack's); either
way the manifest names what the files follow, with its SHA-256. The CSVs have no header; a
staged column the layout has no position for is not written, and the manifest says how
many values it held. The objects follow Oracle's import processes: journals alone, AP
invoices with their lines in one ZIP, purchase orders with their lines.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table

from migrate.errors import ConfigError
from migrate.export.balance import BalanceRule
from migrate.export.rows import Dataset
from migrate.export.values import ColumnFormat
from migrate.staging.types import Money
from migrate.targets.definition import ColumnDef, TableDef
from migrate.targets.fbdi import read_layout
from migrate.targets.pack import shipped_file, shipped_pack


@dataclass(frozen=True)
class FbdiObject:
    """One import process's ZIP and the CSV member each of its tables is written to."""

    zip_name: str
    members: tuple[tuple[str, str], ...]  # (table, member CSV name)

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.members)


def fbdi_objects() -> tuple[FbdiObject, ...]:
    """The pack's import objects, in pack order: tables sharing a ZIP go together."""
    zips: dict[str, list[tuple[str, str]]] = {}
    for table in shipped_pack():
        layout = table.layout
        if layout is not None and layout.import_file and layout.member:
            zips.setdefault(layout.import_file, []).append((table.table, layout.member))
    return tuple(FbdiObject(name, tuple(members)) for name, members in zips.items())


@dataclass(frozen=True)
class Layout:
    """The fields of one table's import file and where they were read: the pack's
    definition (``pack_file``), or a vendor layout file (``path``)."""

    file: str  # the vendor layout's name, e.g. GL_INTERFACE.columns.csv
    sha256: str  # the vendor layout's SHA-256 (for the pack: the one it was made from)
    table: TableDef  # the columns with their positions
    fields: int  # a record's number of fields
    required: tuple[str, ...]  # the columns staging must have (the ERP requires them)
    path: Path | None = None
    pack_file: Path | None = None


def load_layout(folder: Path, table: str) -> Layout:
    """A vendor layout file, ``<TABLE>.columns.csv`` in ``folder`` (``--layouts``)."""
    path = folder / f"{table}.columns.csv"
    if not path.is_file():
        raise ConfigError(f"{path}: no FBDI layout for {table} (--layouts names the folder)")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    read = read_layout(path)
    width = max(c.position or 0 for c in read.columns.values())
    required = tuple(n for n, c in read.columns.items() if c.required)
    return Layout(path.name, sha, read, width, required, path=path)


def pack_layout(table: str) -> Layout:
    """The pack's word on ``table``'s file (no layout file read)."""
    found = {t.table: t for t in shipped_pack()}.get(table)
    layout = found.layout if found else None
    if found is None or layout is None or layout.fields is None or layout.sha256 is None:
        raise ConfigError(
            f"the shipped pack carries no FBDI layout for {table} (regenerate it with "
            "migrate targets build-pack, or pass --layouts FOLDER)"
        )
    required = tuple(n for n, c in found.columns.items() if c.required and c.position)
    return Layout(
        layout.file,
        layout.sha256,
        found,
        layout.fields,
        (*required, *(layout.required_unstaged or ())),
        pack_file=shipped_file(table),
    )


_KINDS = {
    "decimal": "number",
    "money": "money",
    "integer": "integer",
    "bigint": "integer",
    "date": "date",
    "timestamp": "timestamp",
}


def column_format(name: str, col: ColumnDef) -> ColumnFormat:
    """The layout's (or the pack's) word on one column, as a :class:`ColumnFormat`: the
    dates in FBDI's form whatever else the column says, no line break, the texts the
    loader reads as NULL refused."""
    hint = col.hint or ""
    nulls: tuple[str, ...] = ("END",) if hint.startswith("literal END") else ()
    if "$null$" in hint:
        nulls += ("$null$",)
    kind = _KINDS.get(col.type, "text")
    return ColumnFormat(
        name=name,
        kind=kind,
        length=col.length,
        precision=col.precision,
        scale=col.scale,
        date_format="%Y/%m/%d",
        timestamp_format="%Y/%m/%d %H:%M:%S:%f",
        line_breaks=False,
        reads_as_null=nulls,
        required=col.required,
    )


def fbdi_dataset(staged: Table, layout: Layout, member: str, staged_columns: list[str]) -> Dataset:
    """The member CSV of ``staged``: every layout position, filled where staging has it."""
    columns = layout.table.columns
    fields: list[ColumnFormat | None] = [None] * layout.fields
    for name, col in columns.items():
        if col.position and col.position > layout.fields:
            raise ConfigError(
                f"{layout.pack_file or layout.path}: {staged.name}.{name} at position "
                f"{col.position}, but a record has {layout.fields} fields"
            )
        if name in staged_columns and col.position:
            fmt = column_format(name, col)
            if isinstance(staged.c[name].type, Money) and fmt.kind == "number":
                fmt = ColumnFormat(**{**fmt.__dict__, "kind": "money"})
            fields[col.position - 1] = fmt
    missing = [n for n in layout.required if n not in staged_columns]
    if missing:
        raise ConfigError(
            f"{layout.file}: {', '.join(missing)} required by the layout, but staging's "
            f"{staged.name} has no such column: the ERP would reject every row"
        )
    written = {f.name for f in fields if f is not None}
    money = frozenset(c for c in written if isinstance(staged.c[c].type, Money))
    key = list(staged.info.get("target_key") or ())
    rule = BalanceRule()
    journals = staged.name == "GL_INTERFACE" and {rule.debit, rule.credit} <= written
    return Dataset(
        table=staged.name,
        name=member,
        fields=fields,
        header=None,
        money=money,
        left_out=[c for c in staged_columns if c not in written],
        key=key,
        balanced=rule if journals else None,
    )


def objects_for(tables: list[str] | None) -> list[FbdiObject]:
    """The FBDI objects to write: all, or those holding one of ``tables``."""
    objects = fbdi_objects()
    if not tables:
        return list(objects)
    known = {t for o in objects for t in o.tables}
    unknown = [t for t in tables if t.upper() not in known]
    if unknown:
        raise ConfigError(
            f"--table {unknown[0]}: no FBDI import object holds it (FBDI: "
            f"{', '.join(sorted(known))}; --format csv exports any table)"
        )
    wanted = {t.upper() for t in tables}
    return [o for o in objects if wanted & set(o.tables)]
