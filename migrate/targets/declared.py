"""The user's declared target definitions, added to staging beside the shipped tables.

:func:`migrate.staging.catalog.declare_targets` records the directories; every build of the
staging metadata (:func:`migrate.staging.tables.build_metadata`) calls
:func:`add_declared_tables`, so a declared table is created, loaded, rolled back and
reconciled exactly as a shipped one is.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import MetaData

from migrate.errors import SpecError, SpecErrors
from migrate.targets.build import build_table
from migrate.targets.loader import load_targets


def add_declared_tables(md: MetaData, directories: tuple[Path, ...]) -> None:
    """Build every table the directories declare into ``md``; a shipped table's name is refused."""
    for directory in directories:
        for name, loaded in load_targets(directory).items():
            if name in md.tables or (md.schema and f"{md.schema}.{name}" in md.tables):
                where = loaded.locate("table")
                problem = f"table {name!r} is a shipped staging table already"
                raise SpecErrors([SpecError(where, problem)])
            build_table(md, loaded.table)
