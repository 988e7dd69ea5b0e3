"""End to end on SQLite: every planted defect caught, nothing lost, re-runs safe."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.errors import RunStateError
from migrate.lineage.legacy import read_source_row
from migrate.runs.runner import resume_run, rollback_run, run_migration
from migrate.spec.loader import load_project
from reconcile.run import reconcile_run
from tests.support.manifest_check import compare
from tests.support.verdicts import assert_only_planted_problems

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
TARGETS = sorted({e.spec.target.table for e in load_project(MAPPINGS).entities.values()})


def make_estate(workdir: Path, scale: int = 300, seed: int = 7) -> None:
    s = load_settings(workdir)
    build_estate(
        {k: s.url(k) for k in ("finance", "hr", "procurement")},
        workdir / "extracts",
        scale=scale,
        seed=seed,
        manifest_path=workdir / "estate_manifest.json",
    )


def q(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("estate")
    make_estate(workdir)
    return workdir


@pytest.fixture(scope="module")
def migrated(estate: Path) -> tuple[Path, str]:
    summary = run_migration(load_settings(estate), MAPPINGS, "full", chunk_size=37)
    return estate, summary.run_id


def test_every_planted_defect_caught_and_no_clean_row_rejected(migrated: tuple[Path, str]) -> None:
    workdir, run_id = migrated
    result = compare(
        load_project(MAPPINGS),
        workdir / "estate_manifest.json",
        f"sqlite:///{workdir / 'staging.db'}",
        run_id,
    )
    assert result.checked > 100
    assert result.wrong_reason == []
    assert result.not_rejected == []
    assert result.unexpected_rejects == []
    assert result.cosmetic_not_loaded == []


def test_nothing_lost_per_entity(migrated: tuple[Path, str]) -> None:
    workdir, run_id = migrated
    db = workdir / "staging.db"
    project = load_project(MAPPINGS)
    for name in project.order:
        spec = project.spec(name)
        rows_in, loaded, rejected, filtered = q(
            db,
            (
                'SELECT SUM("ROWS_IN"), SUM("LOADED"), SUM("REJECTED"), SUM("FILTERED") '
                f'FROM "MIG_PROGRESS" WHERE "ENTITY" = \'{name}\''
            ),
        )[0]
        staged = q(
            db,
            f'SELECT COUNT(*) FROM "{spec.target.table}" '
            f"WHERE \"MIG_SOURCE_SYSTEM\" = '{spec.source.system}'",
        )[0][0]
        rej = q(db, f'SELECT COUNT(*) FROM "MIG_REJECTS" WHERE "ENTITY" = \'{name}\'')[0][0]
        filt = q(db, f'SELECT COUNT(*) FROM "MIG_FILTERED" WHERE "ENTITY" = \'{name}\'')[0][0]
        assert rows_in == loaded + rejected + filtered, name
        assert (loaded, rejected, filtered) == (staged, rej, filt), name
        if spec.source.table:
            legacy = workdir / f"legacy_{spec.source.system}.db"
            assert q(legacy, f'SELECT COUNT(*) FROM "{spec.source.table}"')[0][0] == rows_in


def test_suppliers_merged_across_systems(migrated: tuple[Path, str]) -> None:
    import json

    workdir, _ = migrated
    manifest = json.loads((workdir / "estate_manifest.json").read_text())
    db = workdir / "staging.db"
    keymap = dict(
        ((s, k), v)
        for s, k, v in q(
            db,
            (
                'SELECT "SOURCE_SYSTEM", "LEGACY_KEY", "ERP_KEY" FROM "MIG_KEY_MAP" '
                "WHERE \"DOMAIN\" = 'supplier'"
            ),
        )
    )
    merges = manifest["expected_merges"]
    assert merges
    for m in merges:
        fin = keymap.get(("finance", str(m["VND_NO"])))
        proc = keymap.get(("procurement", str(m["VendorID"])))
        if fin is not None and proc is not None:
            assert fin == proc, m
    merged = q(
        db, 'SELECT COUNT(*) FROM "MIG_FILTERED" WHERE "RULE" = \'merged_into_existing_record\''
    )[0][0]
    assert merged >= len(merges) - 2


def test_rollback_removes_everything_the_run_staged(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=3)
    summary = run_migration(load_settings(tmp_path), MAPPINGS, "full")
    removed = rollback_run(load_settings(tmp_path), summary.run_id)
    assert sum(removed.values()) > 0
    db = tmp_path / "staging.db"
    for table in [*TARGETS, "MIG_REJECTS", "MIG_FILTERED", "MIG_KEY_MAP", "MIG_PROGRESS"]:
        assert q(db, f'SELECT COUNT(*) FROM "{table}"')[0][0] == 0, table
    assert q(db, 'SELECT "STATUS" FROM "MIG_RUNS"')[0][0] == "rolled_back"
    # a rolled-back run is not resumed: that staged the whole run again under its id
    with pytest.raises(RunStateError, match="was rolled back, so it cannot be resumed"):
        resume_run(load_settings(tmp_path), MAPPINGS, summary.run_id)
    from flows.steps import reopen_run  # the cutover flow's resume_run_id

    with pytest.raises(RunStateError, match="was rolled back"):
        reopen_run(str(tmp_path), summary.run_id)
    from reconcile.run import locate_run  # nor reconciled: nothing of it is staged

    with pytest.raises(RunStateError, match="was rolled back: nothing of it is staged"):
        locate_run(load_settings(tmp_path), summary.run_id)
    with pytest.raises(RunStateError, match="no run to reconcile"):
        locate_run(load_settings(tmp_path), None)  # the latest run with something staged
    assert q(db, 'SELECT "STATUS" FROM "MIG_RUNS"')[0][0] == "rolled_back"
    assert q(db, 'SELECT COUNT(*) FROM "MIG_PROGRESS"')[0][0] == 0


def test_reconcile_without_a_run_id_skips_a_rolled_back_later_run(tmp_path: Path) -> None:
    from reconcile.run import locate_run

    make_estate(tmp_path, scale=200, seed=3)
    settings = load_settings(tmp_path)
    kept = run_migration(settings, MAPPINGS, "full", ["suppliers_finance"])
    later = run_migration(settings, MAPPINGS, "full", ["suppliers_finance"])
    rollback_run(settings, later.run_id)
    assert locate_run(settings, None)[2] == kept.run_id


def test_rehearsal_leaves_real_staging_untouched(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=4)
    run_migration(load_settings(tmp_path), MAPPINGS, "rehearsal")
    assert q(tmp_path / "staging_rehearsal.db", 'SELECT COUNT(*) FROM "SUPPLIERS"')[0][0] > 0
    real = tmp_path / "staging.db"
    assert not real.exists() or q(real, 'SELECT COUNT(*) FROM "SUPPLIERS"')[0][0] == 0


def _staged_snapshot(db: Path) -> dict[str, list[tuple[object, ...]]]:
    snap = {}
    for table in TARGETS:
        snap[table] = sorted(q(db, f'SELECT "MIG_SOURCE_SYSTEM", "MIG_SOURCE_KEY" FROM "{table}"'))
    snap["MIG_REJECTS"] = sorted(
        q(db, 'SELECT "ENTITY", "SOURCE_KEY", "REASON_CODE" FROM "MIG_REJECTS"')
    )
    return snap


@pytest.mark.slow
def test_resume_after_kill_gives_every_row_exactly_once(tmp_path: Path) -> None:
    """kill -9 a real loader mid-run, resume it, and compare with an uninterrupted run."""
    make_estate(tmp_path, scale=3000, seed=11)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
    cmd = [
        sys.executable,
        "-m",
        "cli.main",
        "--workdir",
        str(tmp_path),
        "--mappings",
        str(MAPPINGS),
        "run",
        "--chunk-size",
        "20",
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "staging.db"
    deadline = time.time() + 120
    done = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            done = q(db, 'SELECT COUNT(*) FROM "MIG_PROGRESS"')[0][0]
        except sqlite3.Error:
            continue
        if done >= 60:
            break
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run_id = q(db, 'SELECT "RUN_ID" FROM "MIG_RUNS"')[0][0]
    assert q(db, 'SELECT "STATUS" FROM "MIG_RUNS"')[0][0] == "running"
    resume = [
        sys.executable,
        "-m",
        "cli.main",
        "--workdir",
        str(tmp_path),
        "--mappings",
        str(MAPPINGS),
        "resume",
        str(run_id),
        "--chunk-size",
        "20",
    ]
    subprocess.run(resume, env=env, check=True, capture_output=True)
    assert q(db, 'SELECT "STATUS" FROM "MIG_RUNS"')[0][0] == "complete"

    reference = tmp_path / "reference"
    reference.mkdir()
    make_estate(reference, scale=3000, seed=11)
    run_migration(load_settings(reference), MAPPINGS, "full", chunk_size=20)
    assert _staged_snapshot(db) == _staged_snapshot(reference / "staging.db")


@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    seed=st.integers(min_value=0, max_value=10_000), scale=st.integers(min_value=200, max_value=500)
)
def test_conservation_by_count_and_amount(
    tmp_path_factory: pytest.TempPathFactory, seed: int, scale: int
) -> None:
    """For any generated estate: extracted = loaded + rejected + filtered, rows and cents."""
    workdir = tmp_path_factory.mktemp("prop")
    make_estate(workdir, scale=scale, seed=seed)
    run_migration(load_settings(workdir), MAPPINGS, "full", entities=None, chunk_size=53)
    db, legacy = workdir / "staging.db", workdir / "legacy_finance.db"
    src = dict(
        ((str(i), str(n)), int(c or 0))
        for i, n, c in q(legacy, ('SELECT "INV_ID", "LIN_NO", "LIN_AMT_CENTS" FROM "APINVLIN"'))
    )
    rows_in = q(legacy, 'SELECT COUNT(*) FROM "APINVLIN"')[0][0]
    staged = q(db, 'SELECT "MIG_SOURCE_KEY", "AMOUNT" FROM "AP_INVOICE_LINES_INTERFACE"')
    rejected = q(db, 'SELECT "SOURCE_KEY" FROM "MIG_REJECTS" WHERE "ENTITY" = \'ap_invoice_lines\'')
    assert rows_in == len(staged) + len(rejected)
    staged_cents = sum(int(a) for _, a in staged)
    rejected_cents = sum(src.get(tuple(k.split("|")), 0) for (k,) in rejected)
    source_cents = q(legacy, 'SELECT COALESCE(SUM("LIN_AMT_CENTS"), 0) FROM "APINVLIN"')[0][0]
    assert staged_cents + rejected_cents == source_cents


def test_whole_numbers_into_money_columns_are_units_not_cents(migrated: tuple[Path, str]) -> None:
    """A legacy quantity of 8 is staged as 8.00 (regression: it was once read as 8 cents)."""
    workdir, _ = migrated
    legacy = dict(
        ((f"{i}|{n}"), int(qty))
        for i, n, qty in q(
            workdir / "legacy_finance.db", 'SELECT "INV_ID", "LIN_NO", "QTY" FROM "APINVLIN"'
        )
    )
    staged = q(
        workdir / "staging.db",
        'SELECT "MIG_SOURCE_KEY", "QUANTITY_INVOICED" FROM "AP_INVOICE_LINES_INTERFACE"',
    )
    assert staged
    assert all(cents == legacy[key] * 100 for key, cents in staged)


def test_a_second_run_over_staged_rows_rejects_them_as_duplicates(tmp_path: Path) -> None:
    """The unique target key is the guard: a second full run adds nothing and says why."""
    make_estate(tmp_path, scale=200, seed=5)
    first = run_migration(load_settings(tmp_path), MAPPINGS, "full", chunk_size=97)
    db = tmp_path / "staging.db"
    before = _staged_snapshot(db)
    second = run_migration(load_settings(tmp_path), MAPPINGS, "full", chunk_size=97)
    assert second.totals["loaded"] == 0
    assert second.totals["rows_in"] == first.totals["rows_in"]
    duplicates = q(db, f"SELECT COUNT(*) FROM MIG_REJECTS WHERE RUN_ID = '{second.run_id}' "
                   "AND MESSAGE LIKE '%duplicate_key%'")[0][0]  # fmt: skip
    assert duplicates >= first.totals["loaded"] - second.totals["filtered"]
    after = _staged_snapshot(db)
    assert {t: after[t] for t in TARGETS} == {t: before[t] for t in TARGETS}


def test_a_new_rehearsal_replaces_the_previous_one(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=6)
    first = run_migration(load_settings(tmp_path), MAPPINGS, "rehearsal", chunk_size=97)
    second = run_migration(load_settings(tmp_path), MAPPINGS, "rehearsal", chunk_size=97)
    assert second.totals == first.totals  # same counts, not all rejected as duplicates
    db = tmp_path / "staging_rehearsal.db"
    status = dict(q(db, "SELECT RUN_ID, STATUS FROM MIG_RUNS"))
    assert status == {first.run_id: "rolled_back", second.run_id: "complete"}
    assert not (tmp_path / "staging.db").exists()  # the real staging was never touched
    with sqlite3.connect(db) as conn:  # a rehearsal that stopped is not rolled back silently
        conn.execute("UPDATE MIG_RUNS SET STATUS = 'running' WHERE RUN_ID = ?", (second.run_id,))
    with pytest.raises(RunStateError, match=f"migrate resume {second.run_id}"):
        run_migration(load_settings(tmp_path), MAPPINGS, "rehearsal", chunk_size=97)


def test_a_null_in_an_integer_column_rejects_only_its_row(tmp_path: Path) -> None:
    """A NULL in an integer column used to turn the chunk's column into floats ("123.0"),
    so every other row of the chunk failed to parse."""
    make_estate(tmp_path, scale=200, seed=8)
    reference = tmp_path / "reference"
    reference.mkdir()
    make_estate(reference, scale=200, seed=8)
    run_migration(load_settings(reference), MAPPINGS, "full")
    with sqlite3.connect(tmp_path / "legacy_finance.db") as conn:
        inv, line = conn.execute(
            'SELECT "INV_ID", "LIN_NO" FROM "APINVLIN" ORDER BY "INV_ID" DESC LIMIT 1'
        ).fetchone()
        conn.execute(
            'UPDATE "APINVLIN" SET "LIN_AMT_CENTS" = NULL WHERE "INV_ID" = ? AND "LIN_NO" = ?',
            (inv, line),
        )
    summary = run_migration(load_settings(tmp_path), MAPPINGS, "full")
    lines = next(e for e in summary.entities if e.entity == "ap_invoice_lines")
    ref = q(reference / "staging.db", "SELECT COUNT(*) FROM AP_INVOICE_LINES_INTERFACE")[0][0]
    assert lines.loaded in (ref - 1, ref)  # at most the row with the NULL amount
    rejected = q(tmp_path / "staging.db", "SELECT REASON_CODE FROM MIG_REJECTS WHERE "
                 f"ENTITY = 'ap_invoice_lines' AND SOURCE_KEY = '{inv}|{line}'")  # fmt: skip
    assert lines.loaded == ref - 1 or rejected == []
    assert "invalid_amount" not in {r for (r,) in rejected}


def test_a_row_without_a_source_key_is_rejected_and_runs_again_cleanly(tmp_path: Path) -> None:
    """A blank source key cannot be traced, nor given an ERP key a lookup would find (a
    blank reference means none). It used to be staged, its '' entered the key map, and the
    next run that read the row stopped on the key map's unique key. A key of only a tab is
    blank too; a key is recorded without surrounding whitespace (a tab included), so the
    invoices that name supplier V0000003 find it although its legacy key ends in a tab,
    and reconciliation (which trims the same characters in SQL) finds every row."""
    make_estate(tmp_path, scale=200, seed=9)
    with sqlite3.connect(tmp_path / "legacy_finance.db") as conn:
        nth = '(SELECT rowid FROM "VNDMSTR" ORDER BY rowid LIMIT 1 OFFSET ?)'
        for value, offset in (("  ", 0), ("\t", 1), (" V0000003\t", 2)):
            conn.execute(f'UPDATE "VNDMSTR" SET "VND_NO" = ? WHERE rowid = {nth}', (value, offset))
    entities = ["suppliers_finance", "ap_invoices"]
    settings = load_settings(tmp_path)
    first = run_migration(settings, MAPPINGS, "full", entities, chunk_size=97)
    db = tmp_path / "staging.db"
    rejects = q(
        db,
        "SELECT ENTITY, SOURCE_KEY, COLUMN_NAME, REASON_CODE FROM MIG_REJECTS "
        f"WHERE RUN_ID = '{first.run_id}' AND TRIM(SOURCE_KEY, char(9, 32)) = ''",
    )
    assert sorted(rejects) == [
        ("suppliers_finance", "", "VND_NO", "required_missing"),
        ("suppliers_finance", "", "VND_NO", "required_missing"),
    ]  # '  ' and a tab: both blank, both recorded as ''
    assert q(db, "SELECT MIG_SOURCE_KEY FROM SUPPLIERS WHERE MIG_SOURCE_KEY LIKE '%V0000003%'") == [
        ("V0000003",)
    ]
    with sqlite3.connect(tmp_path / "legacy_finance.db") as conn:
        (naming,) = conn.execute(
            'SELECT COUNT(*) FROM "APINVHDR" WHERE TRIM("VND_NO") = \'V0000003\''
        ).fetchone()
    assert naming > 0  # invoices reference the supplier without the tab
    assert q(
        db,
        "SELECT COUNT(*) FROM MIG_REJECTS WHERE ENTITY = 'ap_invoices' "
        f"AND RUN_ID = '{first.run_id}' AND OFFENDING_VALUE LIKE '%V0000003%'",
    ) == [(0,)]
    assert q(db, "SELECT COUNT(*) FROM MIG_KEY_MAP WHERE LEGACY_KEY = ''") == [(0,)]
    suppliers = load_project(MAPPINGS, entities).spec("suppliers_finance")
    traced = read_source_row(settings, suppliers, "V0000003")  # lineage finds the legacy row
    assert traced is not None and traced["VND_NO"] == " V0000003\t"
    report = reconcile_run(settings, load_project(MAPPINGS, entities), first.run_id)
    assert_only_planted_problems(report)
    second = run_migration(settings, MAPPINGS, "full", entities, chunk_size=97)
    assert second.totals["rows_in"] == first.totals["rows_in"]
    assert second.totals["loaded"] == 0
