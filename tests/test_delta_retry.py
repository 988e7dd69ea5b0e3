"""Delta runs pick up new legacy rows and update changed ones in place; transient failures
are retried; terminal ones are not."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

import migrate.runs.pipeline as pipeline
from migrate.config import Settings, load_settings
from migrate.errors import RunStateError, SchemaMismatch
from migrate.load.retry import is_transient, with_retries
from migrate.runs.runner import resume_run, rollback_run, run_migration
from tests.test_pipeline import MAPPINGS, make_estate, q


def _clean_invoice(workdir: Path) -> int:
    """An invoice staged with all of its lines and no payments rejected."""
    staged = {
        int(k)
        for (k,) in q(
            workdir / "staging.db", 'SELECT "MIG_SOURCE_KEY" FROM "AP_INVOICES_INTERFACE"'
        )
    }
    rejected_lines = {
        k.split("|")[0]
        for (k,) in q(
            workdir / "staging.db",
            ('SELECT "SOURCE_KEY" FROM "MIG_REJECTS" WHERE "ENTITY" = \'ap_invoice_lines\''),
        )
    }
    return min(i for i in staged if str(i) not in rejected_lines)


def test_delta_adds_new_rows_and_updates_changed_ones_in_place(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=21)
    settings = load_settings(tmp_path)
    run_migration(settings, MAPPINGS, "full")
    db, legacy = tmp_path / "staging.db", tmp_path / "legacy_finance.db"
    before = {
        t: q(db, f'SELECT COUNT(*) FROM "{t}"')[0][0]
        for t in ("AP_INVOICES_INTERFACE", "AP_INVOICE_LINES_INTERFACE", "AP_PAYMENTS")
    }
    old = _clean_invoice(tmp_path)
    pmt_id = q(db, 'SELECT MIN("PAYMENT_ID") FROM "AP_PAYMENTS"')[0][0]
    with sqlite3.connect(legacy) as conn:  # the legacy system keeps working after the full run
        new = conn.execute('SELECT MAX("INV_ID") FROM "APINVHDR"').fetchone()[0] + 1
        conn.execute(
            'INSERT INTO "APINVHDR" SELECT ?, "VND_NO", \'NEW-\' || "INV_NO", "INV_DT", '
            '"INV_AMT", "DUE_DT", "FISC_PER", "DESCR" FROM "APINVHDR" WHERE "INV_ID" = ?',
            (new, old),
        )
        conn.execute(
            'INSERT INTO "APINVLIN" SELECT ?, "LIN_NO", "ACCT_STR", "LIN_AMT_CENTS", '
            '"QTY", "UNIT_PRC", "DESCR" FROM "APINVLIN" WHERE "INV_ID" = ?',
            (new, old),
        )
        lines = conn.execute(
            'SELECT COUNT(*) FROM "APINVLIN" WHERE "INV_ID" = ?', (old,)
        ).fetchone()[0]
        conn.execute(
            'UPDATE "APPMT" SET "PMT_AMT" = \'000000012.34\' WHERE "PMT_ID" = ?', (pmt_id,)
        )
    summary = run_migration(settings, MAPPINGS, "delta")
    by_entity = {e.entity: e for e in summary.entities}
    assert by_entity["ap_invoices"].rows_in == 1
    assert by_entity["ap_invoice_lines"].rows_in == lines
    after = {t: q(db, f'SELECT COUNT(*) FROM "{t}"')[0][0] for t in before}
    assert after["AP_INVOICES_INTERFACE"] == before["AP_INVOICES_INTERFACE"] + 1
    assert after["AP_INVOICE_LINES_INTERFACE"] == before["AP_INVOICE_LINES_INTERFACE"] + lines
    assert after["AP_PAYMENTS"] == before["AP_PAYMENTS"]
    amount = q(db, f'SELECT "AMOUNT" FROM "AP_PAYMENTS" WHERE "PAYMENT_ID" = {pmt_id}')[0][0]
    assert amount == 1234  # integer cents on SQLite
    run_id = summary.run_id
    assert q(db, f'SELECT COUNT(*) FROM "AP_PAYMENTS" WHERE "MIG_RUN_ID" = \'{run_id}\'')[0][0]


def test_delta_needs_a_full_run_first(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=22)
    with pytest.raises(RunStateError, match="needs a completed full run"):
        run_migration(load_settings(tmp_path), MAPPINGS, "delta")


def test_transient_failure_is_retried_and_the_run_is_exact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_estate(tmp_path, scale=200, seed=23)
    real = pipeline.stage_rows
    calls = {"n": 0}

    def flaky(conn, table, frame):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 3:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return real(conn, table, frame)

    monkeypatch.setattr(pipeline, "stage_rows", flaky)
    slept: list[float] = []  # what with_retries waited: the retry really happened, once
    monkeypatch.setattr("migrate.load.retry.time.sleep", slept.append)
    summary = run_migration(load_settings(tmp_path), MAPPINGS, "full")
    assert slept == [0.5] and calls["n"] > 3  # the third write failed once and was redone
    reference = tmp_path / "ref"
    reference.mkdir()
    make_estate(reference, scale=200, seed=23)
    monkeypatch.setattr(pipeline, "stage_rows", real)
    expected = run_migration(load_settings(reference), MAPPINGS, "full")
    assert [(e.entity, e.loaded, e.rejected) for e in summary.entities] == [
        (e.entity, e.loaded, e.rejected) for e in expected.entities
    ]


def test_terminal_failures_are_not_retried() -> None:
    calls = {"n": 0}

    def missing_table() -> None:
        calls["n"] += 1
        raise SchemaMismatch("source table 'APINVHDR' not found")

    with pytest.raises(SchemaMismatch):
        with_retries(missing_table, "x", sleep=lambda s: None)
    assert calls["n"] == 1
    assert is_transient(OperationalError("x", {}, Exception("deadlock detected")))
    assert not is_transient(OperationalError("x", {}, Exception("no such table: APINVHDR")))


def test_driver_errors_from_bulk_loads_are_classified_too() -> None:
    """COPY and executemany go through the raw cursor: their errors arrive unwrapped."""
    import psycopg
    import pymysql

    assert is_transient(sqlite3.OperationalError("database is locked"))
    assert not is_transient(sqlite3.IntegrityError("UNIQUE constraint failed: X.K"))
    assert is_transient(psycopg.errors.DeadlockDetected("deadlock detected"))
    assert is_transient(psycopg.errors.LockNotAvailable("lock timeout"))
    assert not is_transient(psycopg.errors.UniqueViolation("duplicate key"))
    assert is_transient(pymysql.err.OperationalError(1213, "Deadlock found"))
    assert not is_transient(pymysql.err.IntegrityError(1062, "Duplicate entry"))


def test_rolling_back_a_delta_restores_the_rows_it_replaced(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=23)
    settings = load_settings(tmp_path)
    full = run_migration(settings, MAPPINGS, "full")
    db, legacy = tmp_path / "staging.db", tmp_path / "legacy_finance.db"
    tables = ("AP_PAYMENTS", "AP_INVOICES_INTERFACE", "GL_INTERFACE")
    snapshot = {t: sorted(q(db, f'SELECT * FROM "{t}"'), key=repr) for t in tables}
    pmt = q(db, 'SELECT "MIG_SOURCE_KEY" FROM "AP_PAYMENTS" ORDER BY "PAYMENT_ID" LIMIT 1')[0][0]
    with sqlite3.connect(legacy) as conn:
        conn.execute('UPDATE "APPMT" SET "PMT_AMT" = \'000000012.34\' WHERE "PMT_ID" = ?', (pmt,))
    delta = run_migration(settings, MAPPINGS, "delta")
    assert q(db, f'SELECT "AMOUNT" FROM "AP_PAYMENTS" WHERE "MIG_SOURCE_KEY" = \'{pmt}\'') == [
        (1234,)
    ]
    with pytest.raises(RunStateError, match=f"roll back {delta.run_id} first"):
        rollback_run(settings, full.run_id)  # the delta replaced rows of the full run
    removed = rollback_run(settings, delta.run_id)
    assert removed["restored AP_PAYMENTS"] == removed["AP_PAYMENTS"] > 0
    assert {t: sorted(q(db, f'SELECT * FROM "{t}"'), key=repr) for t in tables} == snapshot
    assert q(db, 'SELECT COUNT(*) FROM "MIG_REPLACED_AP_PAYMENTS"') == [(0,)]


def test_a_resumed_delta_keeps_its_watermarks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_estate(tmp_path, scale=200, seed=24)
    settings = load_settings(tmp_path)
    run_migration(settings, MAPPINGS, "full")
    legacy = tmp_path / "legacy_finance.db"
    with sqlite3.connect(legacy) as conn:
        top = conn.execute('SELECT MAX("JRNL_NO") FROM "GLJRNL"').fetchone()[0]
        conn.execute(
            'INSERT INTO "GLJRNL" SELECT ?, "LINE_NO", "ACCT_STR", "DR_CR_IND", "AMT_CENTS", '
            '"POST_DT", "FISC_PER", "JRNL_DESC", "SRC_CD" FROM "GLJRNL" WHERE "JRNL_NO" = ?',
            ("GJ99999999", top),
        )
    run_id = delta_failing_at(monkeypatch, settings, "gl_journals")
    summary = resume_run(settings, MAPPINGS, run_id)
    journals = {e.entity: e for e in summary.entities}["gl_journals"]
    lines = q(legacy, "SELECT COUNT(*) FROM GLJRNL WHERE JRNL_NO = 'GJ99999999'")[0][0]
    assert journals.rows_in == lines > 0  # only the new journal, not every journal again


def test_a_delta_updates_a_changed_supplier_instead_of_merging_it_into_itself(
    tmp_path: Path,
) -> None:
    make_estate(tmp_path, scale=200, seed=25)
    settings = load_settings(tmp_path)
    run_migration(settings, MAPPINGS, "full")
    db = tmp_path / "staging.db"
    key = q(db, "SELECT MIG_SOURCE_KEY FROM SUPPLIERS WHERE MIG_SOURCE_SYSTEM = 'procurement' "
            "ORDER BY MIG_SOURCE_KEY LIMIT 1")[0][0]  # fmt: skip
    with sqlite3.connect(tmp_path / "legacy_procurement.db") as conn:
        conn.execute('UPDATE "Vendors" SET "City" = \'Annapolis\' WHERE "VendorID" = ?', (key,))
    delta = run_migration(settings, MAPPINGS, "delta")
    city = q(db, f"SELECT CITY, MIG_RUN_ID FROM SUPPLIERS WHERE MIG_SOURCE_KEY = '{key}' "
             "AND MIG_SOURCE_SYSTEM = 'procurement'")  # fmt: skip
    assert city == [("ANNAPOLIS", delta.run_id)] or city == [("Annapolis", delta.run_id)]


def test_a_delta_is_not_resumed_after_a_later_run_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_estate(tmp_path, scale=200, seed=26)
    settings = load_settings(tmp_path)
    run_migration(settings, MAPPINGS, "full")
    stopped = delta_failing_at(monkeypatch, settings, "ap_payments")
    later = run_migration(settings, MAPPINGS, "delta")
    with pytest.raises(RunStateError, match=f"run {later.run_id} started after"):
        resume_run(settings, MAPPINGS, stopped)


def delta_failing_at(monkeypatch: pytest.MonkeyPatch, settings: Settings, entity: str) -> str:
    """Run a delta whose ``entity`` fails with a terminal error; the failed run's id."""
    real = pipeline.process_chunk

    def fail(ctx: object, spec: object, *a: object, **k: object) -> object:
        if getattr(spec, "entity", "") == entity:
            raise SchemaMismatch(f"{entity}: staging table locked (injected)")
        return real(ctx, spec, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "process_chunk", fail)
    with pytest.raises(SchemaMismatch):
        run_migration(settings, MAPPINGS, "delta")
    monkeypatch.setattr(pipeline, "process_chunk", real)
    failed = q(
        settings.workdir / "staging.db", "SELECT RUN_ID FROM MIG_RUNS WHERE STATUS = 'failed'"
    )
    return str(failed[0][0])
