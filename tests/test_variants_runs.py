"""Variants through the run's life: rollback and resume leave no duplicate and no half
journal; PostgreSQL staging (overlapped writes, chunks of two payments) reconciles as
SQLite does; and, for any set of payments, every payment's debits equal its credits and
staged rows = variants x staged source rows (hypothesis)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, text

from migrate.config import Settings
from migrate.errors import TerminalError
from migrate.runs.rollback import rollback_run
from migrate.runs.runner import resume_run, run_migration
from migrate.spec.loader import load_project
from reconcile.report import EXCEPTIONS, FAIL, PASS
from reconcile.run import reconcile_run
from tests.test_variants import HEADER, PAYMENTS, doc_mapping, run_journal


def lines_of(url: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(
                        'SELECT "MIG_SOURCE_KEY", "ENTERED_DR", "ENTERED_CR" FROM "GL_INTERFACE" '
                        'ORDER BY "REFERENCE21"'
                    )
                )
            ]
    finally:
        engine.dispose()


def write_project(tmp: Path, lines: list[str]) -> Path:
    import yaml

    (tmp / "payments.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    folder = tmp / "mappings" / "finance"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "payment_journal.yaml").write_text(yaml.safe_dump(doc_mapping(), sort_keys=False))
    return tmp / "mappings"


def test_rollback_removes_every_line_and_a_rerun_stages_them_once(tmp_path: Path) -> None:
    run = run_journal(tmp_path, PAYMENTS)
    url = run.settings.urls["staging"]
    assert len(lines_of(url)) == 8
    removed = rollback_run(run.settings, run.run_id)
    assert removed["GL_INTERFACE"] == 8 and lines_of(url) == []
    again = run_migration(run.settings, run.mappings, "full")
    assert len(lines_of(url)) == 8
    e = reconcile_run(run.settings, load_project(run.mappings), again.run_id).entities[0]
    assert e.status == PASS, e.failures


def test_a_run_stopped_mid_entity_resumes_without_halves_or_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Stopped while the third payment's chunk (one payment a chunk) is prepared: the two
    before are committed whole, none of the third; resumed, each line is staged once."""
    import migrate.runs.variant_chunk as variant_chunk

    real = variant_chunk.warning_rows
    stopped: list[int] = []

    def stop_once(*args: Any) -> list[dict[str, object]]:
        if args[5] == 3 and not stopped:
            stopped.append(args[5])
            raise TerminalError("stopped here")
        return real(*args)

    monkeypatch.setattr(variant_chunk, "warning_rows", stop_once)
    mappings = write_project(tmp_path, PAYMENTS)
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    s = Settings(urls={"staging": url}, workdir=tmp_path)
    with pytest.raises(TerminalError):
        run_migration(s, mappings, "full", chunk_size=1)
    assert stopped == [3]
    assert [k for k, _, _ in lines_of(url)] == ["P1@offset", "P1@debit", "P2@offset", "P2@debit"]
    with sqlite3.connect(tmp_path / "staging.db") as db:
        run_id = str(db.execute('SELECT "RUN_ID" FROM "MIG_RUNS"').fetchone()[0])
    resume_run(s, mappings, run_id, chunk_size=1)
    keys = [k for k, _, _ in lines_of(url)]
    assert len(keys) == len(set(keys)) == 8
    e = reconcile_run(s, load_project(mappings), run_id).entities[0]
    assert e.status == PASS, e.failures


@pytest.mark.db
def test_on_postgresql_staging(tmp_path: Path, staging_pg: str) -> None:
    lines = [*PAYMENTS, f"P5,2018-03-10,200,D2,5100,{'9' * 30},7.00"]
    mappings = write_project(tmp_path, lines)
    s = Settings(urls={"staging": staging_pg}, workdir=tmp_path)
    run = run_migration(s, mappings, "full", chunk_size=2)
    e = reconcile_run(s, load_project(mappings), run.run_id).entities[0]
    assert e.status == EXCEPTIONS, (e.failures, e.differences)
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (5, 4, 1)
    assert len(lines_of(staging_pg)) == 8
    engine = create_engine(staging_pg)
    with engine.begin() as conn:
        conn.execute(
            text(
                'UPDATE "GL_INTERFACE" SET "ENTERED_DR" = "ENTERED_CR", "ENTERED_CR" = NULL '
                "WHERE \"REFERENCE21\" = 'P1-CR'"
            )
        )
    engine.dispose()
    planted = reconcile_run(s, load_project(mappings), run.run_id).entities[0]
    assert planted.status == FAIL
    assert ("P1@offset", "changed") in {(d.source_key, d.kind) for d in planted.differences}


AMOUNTS = st.decimals(
    min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2
).filter(lambda d: d.is_finite())


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    payments=st.lists(st.tuples(AMOUNTS, st.booleans()), min_size=1, max_size=12),
)
def test_any_payments_balance_per_payment_and_count_by_variant(
    tmp_path_factory: pytest.TempPathFactory, payments: list[tuple[Decimal, bool]]
) -> None:
    tmp = tmp_path_factory.mktemp("prop")
    lines = [HEADER] + [
        f"P{i},2018-02-03,100,D1,5100,{'1010' if ok else '9' * 30},{amount}"
        for i, (amount, ok) in enumerate(payments)
    ]
    run = run_journal(tmp, lines)
    staged = lines_of(run.settings.urls["staging"])
    per: dict[str, list[int]] = {}
    for key, dr, cr in staged:
        acc = per.setdefault(key.rpartition("@")[0], [0, 0, 0])
        acc[0] += dr or 0
        acc[1] += cr or 0
        acc[2] += 1
    good = {f"P{i}" for i, (_, ok) in enumerate(payments) if ok}
    assert set(per) == good
    assert all(dr == cr and n == 2 for dr, cr, n in per.values())
    assert len(staged) == 2 * len(good)
    e = run.reconcile()
    assert e.status == (PASS if len(good) == len(payments) else EXCEPTIONS), e.failures
    assert (e.staged_rows, e.rejected_rows) == (len(good), len(payments) - len(good))


def test_a_legacy_table_with_numeric_amounts(tmp_path: Path) -> None:
    """The same journal from a database table (NUMERIC amounts, read through their types on
    both sides), not a file."""
    from sqlalchemy import Numeric, String

    from tests.support.restated_project import legacy_table, migrate_one

    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    columns = [(c, String(30)) for c in HEADER.split(",")[:-1]] + [("AMOUNT", Numeric(12, 2))]
    rows = [line.split(",") for line in PAYMENTS[1:]]
    legacy_table(url, "PAYMENTS", columns, [[*r[:-1], Decimal(r[-1])] for r in rows])
    mapping = doc_mapping()
    mapping["source"] = {"system": "finance", "table": "PAYMENTS", "key": ["PAY_ID"]}
    run = migrate_one(tmp_path, url, mapping, "finance")
    e = run.reconcile()
    assert e.status == PASS, (e.failures, e.differences, e.not_verified)
    assert str(next(m for m in e.measures if m.measure == "credits").source) == "1000165.76"
    planted = run.tampered(
        tmp_path, "UPDATE GL_INTERFACE SET ENTERED_DR = 4026 WHERE REFERENCE21 = 'P2-CR'"
    ).reconcile()
    assert planted.status == FAIL
