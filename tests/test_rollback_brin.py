"""A rollback drops the BRIN summaries of the block ranges its run held (PostgreSQL).

With a BRIN index on ``MIG_RUN_ID`` (issue 21), a range's summary keeps spanning a rolled-back
run's id after its rows are gone; rows a later run writes into the freed space then widen it
to every run id in between, for good. Desummarized, the range is read by every query until
the next VACUUM summarizes it from the rows left: narrow again.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.runs.runner import rollback_run, run_migration
from migrate.staging.create import ensure_staging

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
pytestmark = pytest.mark.db


def _sql(url: str, sql: str) -> object:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            result = conn.exec_driver_sql(sql)
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def test_rollback_desummarizes_the_ranges_of_its_rows(
    tmp_path: Path, staging_pg: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MIGRATE_STAGING_URL", staging_pg)
    settings = load_settings(tmp_path)
    build_estate(
        {k: settings.url(k) for k in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=3,
    )
    ensure_staging(staging_pg)
    _sql(staging_pg, 'DROP INDEX "ix_SUPPLIERS_MIG_RUN_ID"')
    _sql(
        staging_pg,
        'CREATE INDEX "ix_SUPPLIERS_MIG_RUN_ID" ON "SUPPLIERS" USING brin ("MIG_RUN_ID")',
    )
    kept = run_migration(settings, MAPPINGS, "full", ["suppliers_finance"]).run_id
    _sql(staging_pg, 'VACUUM "SUPPLIERS"')  # summarizes the range
    summarize = """SELECT brin_summarize_range('"ix_SUPPLIERS_MIG_RUN_ID"'::regclass, 0)"""
    assert _sql(staging_pg, summarize) == 0  # already summarized
    rollback_run(settings, kept)
    assert _sql(staging_pg, summarize) == 1  # the rollback had dropped its summary
