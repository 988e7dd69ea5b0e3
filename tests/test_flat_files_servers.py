"""A headerless TAB extract into PostgreSQL staging: files are read the same whatever the
staging (and the overlapped writes PostgreSQL uses); a record with a wrong field count is
rejected there too, and reconciliation counts it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import FAIL, PASS
from reconcile.run import reconcile_run
from tests.test_flat_files import TSV, write

pytestmark = pytest.mark.db


def test_headerless_file_into_postgresql_staging(tmp_path: Path, staging_pg: str) -> None:
    settings = Settings(urls={"staging": staging_pg}, workdir=tmp_path)
    mappings = write(tmp_path, TSV)
    run = run_migration(settings, mappings, "full", chunk_size=2)
    assert reconcile_run(settings, load_project(mappings), run.run_id).verdict == PASS
    engine = create_engine(staging_pg)
    with engine.connect() as conn:
        names = conn.execute(
            text('SELECT "FULL_NAME" FROM "WORKER_ANNUAL_PAY" ORDER BY "RECORD_KEY"')
        ).scalars()
        assert list(names) == ["Smith\tJr, Ann", "O^Brien, Pat", "Lee, Kim"]
    engine.dispose()


def test_a_short_record_is_rejected_and_counted_on_postgresql(
    tmp_path: Path, staging_pg: str
) -> None:
    settings = Settings(urls={"staging": staging_pg}, workdir=tmp_path)
    mappings = write(tmp_path, TSV + b"104\tPark, Jo\tClerk\tA02\t39000.00\n")
    run = run_migration(settings, mappings, "full", chunk_size=2)
    report = reconcile_run(settings, load_project(mappings), run.run_id)
    (e,) = report.entities
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (4, 3, 1)
    assert [g.reason for g in e.rejects] == ["unreadable_record"]
    assert e.measures[0].status == "UNVERIFIED" and report.verdict == FAIL
