"""A completed run's staged rows, read through a read-only engine, one table at a time.

Export never writes to staging: the run is looked up in the real staging and then in the
rehearsal's own (``migrate.runs.locate.staging_target``), the way every reader finds a
run, and rows are streamed in the table's key order so two exports of one run write the
same bytes. Values come back through the staging column types, so money kept as integer
cents on SQLite reads as the same ``Decimal`` it is on PostgreSQL and MariaDB.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any

from sqlalchemy import MetaData, Table, func, inspect, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.types import NullType

from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.errors import ConfigError, RunStateError
from migrate.reach import probe
from migrate.runs.locate import has_staging, staging_target
from migrate.staging.catalog import staging_metadata, staging_table
from migrate.staging.tables import LINEAGE_COLUMNS, REPLACED_PREFIX
from migrate.staging.types import Money

BATCH = 5_000
_CHECK, _RAW = "__storage_class_of_", "__stored_value_of_"


@dataclass(frozen=True)
class StagedRun:
    """A run found in a staging: where, and how to read its tables."""

    run_id: str
    mode: str
    url: str
    schema: str | None
    engine: Engine

    def table(self, name: str) -> Table:
        """The staging table ``name`` (schema-qualified when staging has a schema)."""
        table = staging_table(name)
        if table is None:
            raise RunStateError(f"staging has no table {name!r}")
        if self.schema is None:
            return table
        return table.to_metadata(MetaData(), schema=self.schema)

    def known(self, name: str) -> str:
        """``name`` as staging spells it (any case), or a ConfigError with a suggestion."""
        tables = [t.name for t in staging_metadata().tables.values() if "target_key" in t.info]
        found = {t.upper(): t for t in tables}.get(name.upper())
        if found is None:
            near = get_close_matches(name.upper(), tables, n=1)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            raise ConfigError(f"--table {name}: staging has no such table{hint}")
        return found

    def count(self, name: str) -> int:
        table = self.table(name)
        sql = select(func.count()).select_from(table).where(table.c["MIG_RUN_ID"] == self.run_id)
        with self.engine.connect() as conn:
            return int(conn.execute(sql).scalar_one())

    def rows(self, name: str, columns: list[str]) -> Iterator[dict[str, Any]]:
        """The run's rows of ``name`` (only ``columns``), in key order, streamed in batches.

        On SQLite money is integer cents, and the Money type reads whatever is there with
        ``int()``: a REAL an UPDATE left (3642310.4) would come back as 36423.10, cut. So each
        money value's storage class is read beside it, and one that is not an integer comes
        back as a text naming it, which no number format writes (the export fails there)."""
        table = self.table(name)
        key = list(table.info.get("target_key") or ()) or ["MIG_SOURCE_KEY"]
        money = [c for c in columns if isinstance(table.c[c].type, Money)]
        if self.engine.dialect.name != "sqlite":
            money = []
        checks = [func.typeof(table.c[c]).label(f"{_CHECK}{c}") for c in money]
        raws = [type_coerce(table.c[c], NullType()).label(f"{_RAW}{c}") for c in money]
        sql = (
            select(*[table.c[c] for c in columns], *checks, *raws)
            .where(table.c["MIG_RUN_ID"] == self.run_id)
            .order_by(*[table.c[c] for c in key])
        )
        with self.engine.connect() as conn:
            result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(sql)
            for row in result.mappings():
                out = {c: row[c] for c in columns}
                for c in money:
                    stored = row[f"{_CHECK}{c}"]
                    if stored not in ("integer", "null"):
                        out[c] = f"{row[f'{_RAW}{c}']!r} (stored as {stored}, not integer cents)"
                yield out

    def tables_with_rows(self) -> list[str]:
        """The target tables (shipped and declared) holding rows of this run, by name."""
        present = set(inspect(self.engine).get_table_names(schema=self.schema))
        names = sorted(
            t.name
            for t in staging_metadata().tables.values()
            if "target_key" in t.info
            and not t.name.startswith(REPLACED_PREFIX)
            and t.name in present
        )
        return [n for n in names if self.count(n) > 0]

    def close(self) -> None:
        self.engine.dispose()


def data_columns(table: Table, lineage: bool = False) -> list[str]:
    """The table's columns in declared order; the lineage columns only when asked."""
    return [c.name for c in table.columns if lineage or c.name not in LINEAGE_COLUMNS]


def find_run(settings: Settings, run_id: str) -> StagedRun:
    """The run in the real staging or the rehearsal's; it must have completed.

    Raises ConnectionFailed (exit 4) when staging cannot be reached, RunStateError when the
    run is unknown, stopped or rolled back (its rows are not all there)."""
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        if mode == "full":
            probe(settings, "staging", url)
        if not has_staging(url, schema):
            continue
        engine = readonly_engine(url)
        runs = staging_table("MIG_RUNS")
        assert runs is not None
        if schema is not None:
            runs = runs.to_metadata(MetaData(), schema=schema)
        with engine.connect() as conn:
            status = conn.execute(
                select(runs.c["STATUS"]).where(runs.c["RUN_ID"] == run_id)
            ).scalar_one_or_none()
        if status is None:
            engine.dispose()
            continue
        if status != "complete":
            engine.dispose()
            raise RunStateError(
                f"run {run_id} is {status}, not complete: only a completed run is exported "
                f"(finish it with `migrate resume {run_id}`)"
                if status != "rolled_back"
                else f"run {run_id} was rolled back: nothing of it is staged"
            )
        return StagedRun(run_id, mode, url, schema, engine)
    raise RunStateError(f"unknown run id {run_id!r} (migrate runs lists them)")
