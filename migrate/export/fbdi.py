"""Oracle Fusion FBDI import files: one ZIP per import process, CSVs in the layout's order.

Each layout (``<TABLE>.columns.csv``) gives the order of the fields (``csv_position``), the
format of each (``load_transform_or_char_hint``: dates ``YYYY/MM/DD``, timestamps
``YYYY/MM/DD HH24:MI:SS:FF``, numbers with a ``.``, ``char(N)`` limits) and, for GL, Oracle
types and lengths. The CSVs have no header; a staged column the layout has no position for
is not written, and the manifest says how many values it held. The objects follow Oracle's
import processes: journals alone, AP invoices with their lines in one ZIP, purchase orders
with their lines.
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

DEFAULT_LAYOUTS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "realdata"
    / "erp_target_schemas"
    / "oracle_fusion_interface"
)


@dataclass(frozen=True)
class FbdiObject:
    """One import process's ZIP and the CSV member each of its tables is written to."""

    name: str
    zip_name: str
    members: tuple[tuple[str, str], ...]  # (table, member CSV name)

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(t for t, _ in self.members)


FBDI_OBJECTS: tuple[FbdiObject, ...] = (
    FbdiObject("journals", "GlInterface.zip", (("GL_INTERFACE", "GlInterface.csv"),)),
    FbdiObject(
        "payables_invoices",
        "ApInvoicesInterface.zip",
        (
            ("AP_INVOICES_INTERFACE", "ApInvoicesInterface.csv"),
            ("AP_INVOICE_LINES_INTERFACE", "ApInvoiceLinesInterface.csv"),
        ),
    ),
    FbdiObject(
        "purchase_orders",
        "PoHeadersInterfaceOrder.zip",
        (
            ("PO_HEADERS_INTERFACE", "PoHeadersInterfaceOrder.csv"),
            ("PO_LINES_INTERFACE", "PoLinesInterfaceOrder.csv"),
        ),
    ),
)


@dataclass(frozen=True)
class Layout:
    """A layout file as read, with its hash (the manifest names what the files follow)."""

    path: Path
    sha256: str
    table: TableDef


def load_layout(folder: Path, table: str) -> Layout:
    path = folder / f"{table}.columns.csv"
    if not path.is_file():
        raise ConfigError(f"{path}: no FBDI layout for {table} (--layouts names the folder)")
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    return Layout(path, sha, read_layout(path))


def column_format(name: str, col: ColumnDef) -> ColumnFormat:
    """The layout's word on one column, as a :class:`ColumnFormat`."""
    hint = col.hint or ""
    nulls: tuple[str, ...] = ("END",) if hint.startswith("literal END") else ()
    if "$null$" in hint:
        nulls += ("$null$",)
    kind = {"decimal": "number", "date": "date", "timestamp": "timestamp"}.get(col.type, "text")
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
    width = max(c.position or 0 for c in columns.values())
    fields: list[ColumnFormat | None] = [None] * width
    for name, col in columns.items():
        if name in staged_columns and col.position:
            fmt = column_format(name, col)
            if isinstance(staged.c[name].type, Money) and fmt.kind == "number":
                fmt = ColumnFormat(**{**fmt.__dict__, "kind": "money"})
            fields[col.position - 1] = fmt
    missing = [n for n, c in columns.items() if c.required and n not in staged_columns]
    if missing:
        raise ConfigError(
            f"{layout.path.name}: {', '.join(missing)} required by the layout, but staging's "
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
    if not tables:
        return list(FBDI_OBJECTS)
    known = {t for o in FBDI_OBJECTS for t in o.tables}
    unknown = [t for t in tables if t.upper() not in known]
    if unknown:
        raise ConfigError(
            f"--table {unknown[0]}: no FBDI import object holds it (FBDI: "
            f"{', '.join(sorted(known))}; --format csv exports any table)"
        )
    wanted = {t.upper() for t in tables}
    return [o for o in FBDI_OBJECTS if wanted & set(o.tables)]
