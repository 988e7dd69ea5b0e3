"""``migrate audit signoff`` and the cutover's sign-off follow one rule (migrate.signoff.decision),
and
every reconciliation of a run is kept (issue 19, item 7: "a signed report stays signed").

A decision is refused for a run that does not exist, was rolled back or was never reconciled
(nothing written: the audit log is tamper-evident, a stray entry stays forever). Otherwise it
names the reconciliation it judges (default: the latest), records that reconciliation's
workbook SHA-256 and verdict beside the decision, and leaves the verdict alone: approving
EXCEPTIONS accepts the listed exceptions, approving a FAIL does not approve (nor does
approving one that is not the latest: tests/test_signoff_scope.py). A later reconcile gets
the next number and new files, so the signed file and its record stay.

Seen failing on 6fa0eac: an EXCEPTIONS run was refused as "not reconciled", a sign-off
rewrote ``MIG_RUNS.VERDICT`` to "PASS APPROVED", a second reconcile overwrote
``reconciliation_<run>.xlsx``, and two reconciles gave two SHA-256s.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest

from cli.main import main
from migrate.audit.log import log_path
from migrate.config import load_settings
from migrate.db import writable_engine
from migrate.runs.runner import rollback_run, run_migration
from migrate.signoff import reconciliations
from migrate.signoff.reconciliations import Reconciled
from migrate.staging.tables import build_metadata
from reconcile.run import reconcile_command
from tests.test_pipeline import MAPPINGS, make_estate

AT = "2026-12-07T10:00:00+00:00"


def _entries(work: Path, kind: str) -> list[dict[str, object]]:
    path = log_path(load_settings(work))
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [e["payload"] for e in entries if e.get("kind") == kind]


def _sql(work: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(work / "staging.db") as conn:
        return conn.execute(sql, args).fetchall()


def _sign(work: Path, run_id: str, decision: str, *more: str) -> int:
    args = ["audit", "signoff", run_id, "--approver", "R. Alvarez", "--decision", decision]
    return main(["--workdir", str(work), *args, "--comment", "totals agree", *more])


def _reconcile(work: Path, run_id: str, at: str | None = AT) -> int:
    settings = load_settings(work)
    return reconcile_command(settings, MAPPINGS, run_id, None, None, reconciled_at=at)


def _planted(work: Path, run_id: str, number: int, verdict: str) -> None:
    """A reconciliation row as if reconciled with ``verdict`` (the estate cannot PASS)."""
    engine, md = writable_engine(load_settings(work).url("staging")), build_metadata(None)
    try:
        reconciliations.ensure_tables(engine, md)
        row = Reconciled(run_id, number, verdict, AT, "t", ("suppliers_finance",), 0,
                         "w.xlsx", "c" * 64, "w.json", "d" * 64, "w.csv", "e" * 64)  # fmt: skip
        with engine.begin() as conn:
            reconciliations.add(conn, md, row)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("signoff")
    make_estate(work, scale=200, seed=21)
    run = run_migration(load_settings(work), MAPPINGS, "full", ["suppliers_finance"])
    return work, run.run_id


def test_refused_for_an_unknown_or_unreconciled_run(
    staged: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    work, run_id = staged
    assert _sign(work, "no-such-run", "approve") == 2
    assert "unknown run id" in capsys.readouterr().err
    assert _sign(work, run_id, "approve") == 2
    assert "has not been reconciled" in capsys.readouterr().err
    assert _entries(work, "signoff_recorded") == []  # nothing entered the audit log


def test_each_reconcile_is_kept_numbered_and_byte_identical(staged: tuple[Path, str]) -> None:
    work, run_id = staged
    assert _reconcile(work, run_id) == 3  # rejected rows: EXCEPTIONS
    assert _reconcile(work, run_id) == 3
    out = work / "artifacts"
    first, second = (out / f"reconciliation_{run_id}_{n}.xlsx" for n in (1, 2))
    assert first.read_bytes() == second.read_bytes()  # same inputs, same reconciled_at
    for n in (1, 2):
        assert (out / f"reconciliation_{run_id}_{n}.json").exists()
        assert (out / f"reconciliation_{run_id}_{n}_differences.csv").exists()
    sha = hashlib.sha256(first.read_bytes()).hexdigest()
    rows = _sql(work, "SELECT NUMBER, VERDICT, WORKBOOK_SHA256, WORKBOOK_PATH, EXCEPTIONS "
                "FROM MIG_RECONCILIATIONS WHERE RUN_ID = ? ORDER BY NUMBER", run_id)  # fmt: skip
    assert rows == [(1, "EXCEPTIONS", sha, str(first), 2), (2, "EXCEPTIONS", sha, str(second), 2)]
    assert _sql(work, "SELECT VERDICT, WORKBOOK_SHA256 FROM MIG_RUNS") == [("EXCEPTIONS", sha)]
    logged = [(e["reconciliation"], e["verdict"]) for e in _entries(work, "reconciliation_verdict")]
    assert logged == [(1, "EXCEPTIONS"), (2, "EXCEPTIONS")]
    files = _entries(work, "workbook_hash")[1]["files"]
    assert isinstance(files, dict) and files[second.name] == sha


def test_approving_exceptions_accepts_them_and_keeps_the_verdict(
    staged: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    work, run_id = staged
    assert _sign(work, run_id, "approve") == 0  # the latest: reconciliation 2
    out = capsys.readouterr().out
    assert "outcome: APPROVED, EXCEPTIONS ACCEPTED" in out and "2 exception(s)" in out
    assert "covers 1 entity: suppliers_finance" in out
    sha = _sql(work, "SELECT WORKBOOK_SHA256 FROM MIG_RECONCILIATIONS WHERE NUMBER = 2")[0][0]
    assert _sql(work, "SELECT RECONCILIATION, WORKBOOK_SHA256, VERDICT, OUTCOME, "
                "EXCEPTIONS_ACCEPTED FROM MIG_SIGNOFFS") == [
        (2, sha, "EXCEPTIONS", "APPROVED, EXCEPTIONS ACCEPTED", 2)
    ]  # fmt: skip
    assert _sql(work, "SELECT VERDICT FROM MIG_RUNS") == [("EXCEPTIONS",)]  # not "APPROVED"
    [entry] = _entries(work, "signoff_recorded")
    assert entry["reconciliation"] == 2 and entry["workbook_sha256"] == sha
    assert entry["exceptions_accepted"] == 2 and entry["entities"] == ["suppliers_finance"]


def test_a_named_reconciliation_and_the_fail_rule(
    staged: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    work, run_id = staged
    _planted(work, run_id, 3, "FAIL")
    _planted(work, run_id, 4, "PASS")
    assert _sign(work, run_id, "approved", "--reconciliation", "3") == 1  # the old spelling
    out = capsys.readouterr().out  # recorded as given; exit 1: the run is not approved
    assert "outcome: NOT APPROVED" in out
    assert "not approved: its verdict is FAIL" in out
    assert "not approved: reconciliation 4 (PASS) is the run's latest" in out
    assert _sign(work, run_id, "approve") == 0
    assert _sign(work, run_id, "reject", "--reconciliation", "4") == 0
    assert _sign(work, run_id, "approve", "--reconciliation", "9") == 2
    assert "has no reconciliation 9 (it has 1, 2, 3, 4)" in capsys.readouterr().err
    got = _sql(work, "SELECT RECONCILIATION, VERDICT, DECISION, OUTCOME FROM MIG_SIGNOFFS "
               "WHERE RECONCILIATION > 2 ORDER BY SIGNED_AT")  # fmt: skip
    assert got == [(3, "FAIL", "approve", "NOT APPROVED"), (4, "PASS", "approve", "APPROVED"),
                   (4, "PASS", "reject", "REJECTED")]  # fmt: skip
    assert _sql(work, "SELECT VERDICT FROM MIG_RUNS") == [("EXCEPTIONS",)]  # never rewritten


def test_a_later_reconcile_never_erases_a_signed_file(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=23)
    run = run_migration(load_settings(tmp_path), MAPPINGS, "full", ["suppliers_finance"])
    assert _reconcile(tmp_path, run.run_id, None) == 3
    assert _sign(tmp_path, run.run_id, "approve") == 0
    signed = tmp_path / "artifacts" / f"reconciliation_{run.run_id}_1.xlsx"
    issued = signed.read_bytes()
    _sql(tmp_path, "UPDATE SUPPLIERS SET VENDOR_NAME = VENDOR_NAME || 'x' WHERE rowid = 1")
    assert _reconcile(tmp_path, run.run_id, None) == 1  # one changed name: FAIL
    assert signed.read_bytes() == issued
    assert (tmp_path / "artifacts" / f"reconciliation_{run.run_id}_2.xlsx").exists()
    history = _sql(tmp_path, "SELECT NUMBER, VERDICT FROM MIG_RECONCILIATIONS ORDER BY NUMBER")
    assert history == [(1, "EXCEPTIONS"), (2, "FAIL")]
    sha = hashlib.sha256(issued).hexdigest()
    assert _sql(tmp_path, "SELECT RECONCILIATION, WORKBOOK_SHA256, OUTCOME FROM MIG_SIGNOFFS") == [
        (1, sha, "APPROVED, EXCEPTIONS ACCEPTED")
    ]
    assert _sql(tmp_path, "SELECT VERDICT FROM MIG_RUNS") == [("FAIL",)]  # the latest


def test_history_lists_each_reconciliation_and_its_signoffs(
    staged: tuple[Path, str], capsys: pytest.CaptureFixture[str]
) -> None:
    work, run_id = staged
    assert main(["--workdir", str(work), "audit", "history", run_id]) == 0
    out = capsys.readouterr().out
    assert f"run {run_id}: 4 reconciliation(s), oldest first" in out
    assert "  2  2026-12-07T10:00:00+00:00  EXCEPTIONS, 2 exception(s) to accept" in out
    assert "by R. Alvarez: approve -> APPROVED, EXCEPTIONS ACCEPTED" in out


def test_refused_for_a_rolled_back_run(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=22)
    run = run_migration(load_settings(tmp_path), MAPPINGS, "full", ["suppliers_finance"])
    _planted(tmp_path, run.run_id, 1, "PASS")
    rollback_run(load_settings(tmp_path), run.run_id)
    assert _sign(tmp_path, run.run_id, "approve") == 2
    assert _entries(tmp_path, "signoff_recorded") == []
