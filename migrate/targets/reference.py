"""Generate ``docs/reference/targets.md`` from the definition models (the source of truth).

Run ``python -m migrate.targets.reference docs/reference/targets.md``; a test fails when the
committed page is out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import get_args

from pydantic import BaseModel

from migrate.staging.lineage_columns import LINEAGE_COLUMNS
from migrate.targets.definition import (
    ColumnDef,
    ColumnType,
    IndexDef,
    Layout,
    ObjectDef,
    TableDef,
)

SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("Table file (top level)", TableDef),
    ("columns.<COLUMN>", ColumnDef),
    ("indexes[]", IndexDef),
    ("layout", Layout),
    ("Object file (several tables, top level)", ObjectDef),
)

TYPES: dict[str, str] = {
    "text": "`length` is the maximum number of characters; without it, unbounded text",
    "money": "an exact amount with 2 decimals (integer cents on SQLite, NUMERIC(p, 2) "
    "elsewhere); `precision` at most 18, default 18",
    "integer": "a 32-bit whole number",
    "bigint": "a 64-bit whole number (ERP ids)",
    "decimal": "an exact number: `precision` digits, `scale` after the point; without a "
    "precision, unbounded on PostgreSQL (MariaDB needs one: it would make DECIMAL(10,0))",
    "date": "a day; `format` says how the ERP's import file writes it (e.g. YYYY/MM/DD)",
    "timestamp": "a day and time, without time zone",
    "boolean": "true or false",
}


def _type_name(annotation: object) -> str:
    text = str(annotation).replace("typing.", "").replace("migrate.targets.definition.", "")
    return text.replace("<class '", "").replace("'>", "").replace("|", "or")


def _model_table(model: type[BaseModel]) -> list[str]:
    lines = ["| key | type | required | default | meaning |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        default = "" if info.is_required() else f"`{info.get_default(call_default_factory=True)!r}`"
        desc = (info.description or "").replace("|", "\\|")
        req = "yes" if info.is_required() else ""
        kind = "type name" if name == "type" else _type_name(info.annotation)
        lines.append(f"| `{name}` | {kind} | {req} | {default} | {desc} |")
    return lines


def render() -> str:
    lineage = ", ".join(f"`{c}`" for c in LINEAGE_COLUMNS)
    out = [
        "# Target definition reference",
        "",
        "Generated from `migrate/targets/definition.py` by `python -m migrate.targets.reference`;",
        "do not edit by hand. A target definition declares one staging table (or, with",
        "`object:` and `tables:`, the tables of one ERP object) as YAML. Every unknown key is",
        "an error reported as `file:line key.path: message (did you mean ...?)`; see",
        "[the how-to](../how-to/targets.md) for importing, reflecting and checking drift.",
        "",
        f"The tool adds, and users never declare: the lineage columns {lineage}; a unique",
        "constraint on the key (`uq_<table>_key`); an index on `MIG_RUN_ID`; and the",
        "`MIG_REPLACED_<table>` twin where a delta run keeps the rows it replaces.",
        "",
    ]
    for title, model in SECTIONS:
        doc = (model.__doc__ or "").strip().splitlines()[0]
        out += [f"## {title}", "", doc, "", *_model_table(model), ""]
    out += ["## Column types", "", "| type | meaning |", "|---|---|"]
    out += [f"| `{name}` | {TYPES[name]} |" for name in get_args(ColumnType)]
    out += [
        "",
        "## Checks across keys",
        "",
        "- every `key` and `indexes[].columns` entry names a declared column;",
        "- a key column is `required: true` (a key is never empty);",
        "- `length` only on text, `precision`/`scale` only on decimal and money, `format` only",
        "  on date, timestamp and text; `default` is one of `allowed` when both are given;",
        "- two columns may not share a `position`, nor differ only in letter case;",
        "- table names starting `MIG_` and the lineage columns belong to the tool;",
        "- a table is declared once across all files of a folder.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str]) -> int:
    Path(argv[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
