"""Import Oracle Fusion FBDI column layouts into target definitions.

A layout file (``<TABLE>.columns.csv``: ``table, csv_position, column_name,
load_transform_or_char_hint, oracle_type, length_or_precision, required``) lists the
columns of one interface table in the order of its import file. Every row becomes a column
of the definition, carrying its position, its hint verbatim, the type and format the hint
or the Oracle type gives, its length and whether it is required; rows the loader sets
itself (no position) are listed under ``layout.loader_columns``. Where a layout says
nothing of a column's type, the column is text with no length: the definition never
claims more than the vendor published.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from migrate.errors import ConfigError
from migrate.spec.steps import suggest
from migrate.targets.definition import ColumnDef, Layout, TableDef
from migrate.targets.write import to_yaml

VENDOR = "Oracle Fusion FBDI"
HEADER = (
    "table",
    "csv_position",
    "column_name",
    "load_transform_or_char_hint",
    "oracle_type",
    "length_or_precision",
    "required",
)
_CHAR = re.compile(r"^char\((\d+)\)$")
_DATE = "date YYYY/MM/DD"
_TIMESTAMP = "timestamp YYYY/MM/DD HH24:MI:SS:FF"


def read_layout(path: Path, keys: dict[str, list[str]] | None = None) -> TableDef:
    """One layout file as a table definition (``keys``: the target key of each table)."""
    try:
        return _read_layout(path, keys or {})
    except ValidationError as exc:
        problems = "; ".join(str(e["msg"]).removeprefix("Value error, ") for e in exc.errors())
        raise ConfigError(f"{path}: {problems}") from None


def _read_layout(path: Path, keys: dict[str, list[str]]) -> TableDef:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        if tuple(reader.fieldnames or ()) != HEADER:
            raise ConfigError(f"{path}:1: a layout's header is {','.join(HEADER)}")
        rows = list(enumerate(reader, start=2))
    if not rows:
        raise ConfigError(f"{path}: no columns")
    name = rows[0][1]["table"]
    key = keys.get(name, [])
    columns: dict[str, ColumnDef] = {}
    loader: list[str] = []
    for line, row in rows:
        if row["table"] != name:
            raise ConfigError(f"{path}:{line}: table {row['table']!r}, not {name!r}")
        if not row["csv_position"]:
            loader.append(row["column_name"])
            continue
        columns[row["column_name"]] = _column(path, line, row, row["column_name"] in key)
    for col in key:
        if col not in columns:
            raise ConfigError(
                f"{path}: key column {col!r} is not in the layout{suggest(col, list(columns))}"
            )
    return TableDef(
        table=name,
        key=key,
        columns=columns,
        layout=Layout(vendor=VENDOR, file=path.name, loader_columns=loader),
    )


def _column(path: Path, line: int, row: dict[str, str], is_key: bool) -> ColumnDef:
    hint = row["load_transform_or_char_hint"] or None
    spec: dict[str, Any] = {"position": _int(path, line, row["csv_position"])}
    spec.update(_type(path, line, row["oracle_type"], row["length_or_precision"], hint or ""))
    required = row["required"].strip().upper() == "Y"
    spec["required"] = required or is_key
    if is_key and not required:
        spec["description"] = "the target key: required here, though the layout does not say"
    spec["hint"] = hint
    return ColumnDef.model_validate(spec)


def _type(path: Path, line: int, oracle: str, size: str, hint: str) -> dict[str, Any]:
    """The definition type: from the Oracle type where the layout gives one, else the hint."""
    oracle = oracle.strip().upper()
    if oracle == "VARCHAR2":
        return {"type": "text", "length": _int(path, line, size)} if size else {"type": "text"}
    if oracle == "DATE":
        return {"type": "date", "format": "YYYY/MM/DD"}
    if oracle == "NUMBER":
        if size:
            return {"type": "decimal", "precision": _int(path, line, size), "scale": 0}
        return {"type": "decimal"}
    if oracle:
        raise ConfigError(f"{path}:{line}: unknown oracle_type {oracle!r}")
    if hint.startswith(_DATE):
        return {"type": "date", "format": "YYYY/MM/DD"}
    if hint.startswith(_TIMESTAMP):
        return {"type": "timestamp", "format": _TIMESTAMP.removeprefix("timestamp ")}
    if hint.startswith("number"):
        return {"type": "decimal"}
    match = _CHAR.match(hint)
    if match:
        return {"type": "text", "length": int(match.group(1))}
    return {"type": "text"}


def _int(path: Path, line: int, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"{path}:{line}: {value!r} is not a whole number") from None


def import_layouts(folder: Path, out: Path, keys: dict[str, list[str]]) -> list[Path]:
    """Write one definition per ``*.columns.csv`` under ``folder`` into ``out``."""
    layouts = sorted(folder.glob("*.columns.csv"))
    if not layouts:
        raise ConfigError(f"{folder}: no *.columns.csv layout files")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path in layouts:
        table = read_layout(path, keys)
        target = out / f"{table.table.lower()}.yaml"
        target.write_text(
            to_yaml(table, f"imported from {VENDOR} layout {path.name}"), encoding="utf-8"
        )
        written.append(target)
    return written
