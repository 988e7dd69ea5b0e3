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
from migrate.targets.pack_recipe import ColumnRecipe, ObjectRecipe, Recipe, TableRecipe

SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("Table file (top level)", TableDef),
    ("columns.<COLUMN>", ColumnDef),
    ("indexes[]", IndexDef),
    ("layout", Layout),
    ("Object file (several tables, top level)", ObjectDef),
    ("Pack recipe (top level)", Recipe),
    ("objects[]", ObjectRecipe),
    ("objects[].tables[]", TableRecipe),
    ("objects[].tables[].columns.<COLUMN>", ColumnRecipe),
)
DEFINITIONS = SECTIONS[:5]
RECIPE_SECTIONS = SECTIONS[5:]

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
    text = text.replace("migrate.targets.pack_recipe.", "")
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
        "constraint on the key (`uq_<table>_key`); an index on `MIG_RUN_ID` (BRIN on",
        "PostgreSQL, where run ids that grow with time keep each run's rows together); and the",
        "`MIG_REPLACED_<table>` twin where a delta run keeps the rows it replaces.",
        "",
    ]
    for title, model in DEFINITIONS:
        out += _section(title, model)
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
        "- a `format` holds only elements the tool can check and write (`YYYY`, `MM`, `DD`,",
        "  ...): `format: YYYY/MON/DD` is refused at its line when the definition loads;",
        "- a `default` the column itself refuses (longer than `length`, no boolean spelling)",
        "  is said at the definition's `columns.X.default` line by `mappings check`;",
        "- a table that a shipped or tool table names, in any letter case, is refused.",
        "- two columns may not share a `position`, nor differ only in letter case;",
        "- table names starting `MIG_` and the lineage columns belong to the tool;",
        "- a table is declared once across all files of a folder.",
        "",
        *PACK,
    ]
    for title, model in RECIPE_SECTIONS:
        out += _section(title, model)
    return "\n".join(out)


def _section(title: str, model: type[BaseModel]) -> list[str]:
    doc = (model.__doc__ or "").strip().splitlines()[0]
    return [f"## {title}", "", doc, "", *_model_table(model), ""]


_LAYOUTS = "../shared/realdata/erp_target_schemas/oracle_fusion_interface"
PACK = [
    "## The shipped pack",
    "",
    "The staging tables every project has are a target pack of these definitions, in",
    "`migrate/targets/packs/oracle_fusion/` (installed with the package):",
    "",
    "- `finance/journals.yaml` (`GL_INTERFACE`), `finance/payables_invoices.yaml`",
    "  (`AP_INVOICES_INTERFACE`, `AP_INVOICE_LINES_INTERFACE`) and",
    "  `procurement/purchase_orders.yaml` (`PO_HEADERS_INTERFACE`, `PO_LINES_INTERFACE`) are",
    "  **generated** from Oracle's FBDI layouts by the recipe",
    "  `migrate/targets/packs/oracle_fusion.recipe.yaml`; they start `# Generated by` and name",
    "  each layout's SHA-256. Do not edit them: change the recipe and regenerate.",
    "- the tables no shared layout covers (`GL_ACCOUNTS`, `AP_PAYMENTS`, the `AR_*` tables,",
    "  `SUPPLIERS`, `POR_REQ_HEADERS`, `RCV_RECEIPTS` and the HR tables) are hand-written",
    "  definitions in the same folder.",
    "",
    "Regenerate, or check that the committed files are what the recipe makes:",
    "",
    "```",
    f"migrate targets build-pack --layouts {_LAYOUTS}",
    f"migrate targets build-pack --layouts {_LAYOUTS} --check",
    "```",
    "",
    "`--recipe` and `--out` make a pack of your own the same way (default: the shipped recipe",
    "and the folder named after its `pack`, beside it). Exit codes: 0 written or up to date, 1",
    "`--check` found a difference, 2 bad input (each recipe problem at its `file:line`). A",
    "generated file the recipe no longer makes is removed; a hand-written file (no",
    "`# Generated by` first line) is never overwritten.",
    "",
    "What the recipe holds, per ERP object (one file) and per table: the layout file, the",
    "key, and the layout columns the staging keeps, in table order, each with what it",
    "changes. The rest comes from the layout: a kept column carries its `position`, `hint`,",
    "type, `length`, date `format` and `required` as the layout says, except where the",
    "recipe changes them (`money` where the layout says NUMBER, the shipped length where it",
    "gives none, `required` where a migration always fills it). A changed `type` drops the",
    "layout's length, precision, scale and format unless the recipe gives them; a key column",
    "is always required. A column the layout lacks (`VENDOR_ID`, the ERP supplier key a key",
    "map issues) is declared whole with `extra: true`. The layout's loader columns go to",
    "`layout.loader_columns`.",
    "",
    "A recipe narrows a layout, never widens it: a longer `length`, `required: false` on a",
    "column the layout requires, or a type the layout's does not hold (text for a date) is",
    "refused at its line, because `migrate export` writes a generated table's FBDI file from",
    "the pack alone. For that, each generated table's `layout` block also carries the",
    "layout's `sha256`, a record's number of `fields`, the object's `import_file` (ZIP) and",
    "the table's `member` (CSV), and `required_unstaged`, the columns the layout requires",
    "that the table does not keep (its export is refused) ([the export](../how-to/export.md)).",
    "",
]


def main(argv: list[str]) -> int:
    Path(argv[0]).write_text(render(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
