"""The shipped target pack: the ERP staging tables every project has, declared as data.

``packs/oracle_fusion/`` holds one definition file per ERP object or table: the FBDI
objects (journals, payables invoices, purchase orders) generated from Oracle's published
layouts by a recipe (``packs/oracle_fusion.recipe.yaml``, :mod:`.pack_generate`), the
tables no layout covers (GL accounts, payments, receivables, suppliers, HR) written by hand.
:func:`migrate.staging.tables.build_metadata` builds them (:mod:`.build`) into every
staging metadata; the files are read once per process. The generated tables' ``layout``
blocks carry what ``migrate export`` needs to write their FBDI files without the layouts.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from sqlalchemy import MetaData, Table

from migrate.staging.lineage_columns import replaced_table
from migrate.targets.build import build_target
from migrate.targets.definition import TableDef
from migrate.targets.loader import LoadedTable, load_targets

PACKS = Path(__file__).resolve().parent / "packs"
SHIPPED = PACKS / "oracle_fusion"
RECIPE = PACKS / "oracle_fusion.recipe.yaml"


@lru_cache(maxsize=1)
def _shipped() -> dict[str, LoadedTable]:
    return load_targets(SHIPPED)


def shipped_pack() -> tuple[TableDef, ...]:
    """The shipped pack's table definitions, in file order (a broken file: SpecErrors)."""
    return tuple(loaded.table for loaded in _shipped().values())


def shipped_file(table: str) -> Path:
    """The pack file declaring ``table`` (the export's manifest names it, with its hash)."""
    return PACKS / _shipped()[table].display


def add_shipped_tables(md: MetaData) -> list[Table]:
    """Build the shipped tables into ``md``, then each one's ``MIG_REPLACED_`` twin."""
    built = [build_target(md, table) for table in shipped_pack()]
    for table in built:
        replaced_table(md, table)
    return built
