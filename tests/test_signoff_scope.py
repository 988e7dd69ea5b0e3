"""A sign-off approves a run only through a reconciliation that proves the whole run as it
now stands (review of issue 19, items 2 and 7):

- a reconciliation made with ``reconcile --entity`` (or with a mapping folder that lacks some
  of the run's entities) is recorded, but NOT APPROVED, saying which entities it lacks;
- only the run's latest reconciliation can approve it: approving an earlier one (a PASS
  after a later FAIL) is recorded, NOT APPROVED, naming the latest;
- a run that is ``failed`` or still ``running`` is refused (nothing written).

(A mapping changed since the run makes the reconciliation itself FAIL, and a FAIL is never
approved; a mapping gone from the folder cannot be reconciled: ``reconcile/proving/claims.py``.)

An approval that does not approve exits 1, so a script that goes on after ``migrate audit
signoff`` does not go on. Seen failing on 1de9d5a: every case above printed "outcome:
APPROVED" and exited 0, and a failed run was signed.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cli.main import main
from migrate.audit.log import log_path
from migrate.signoff.approval import RunScope
from migrate.signoff.decision import history_lines
from migrate.signoff.reconciliations import Reconciled, SignOff
from tests.test_verdict import project, row, settings_in


def _run_id(work: Path) -> str:
    return str(_sql(work, "SELECT RUN_ID FROM MIG_RUNS")[0][0])


def _sql(work: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    with sqlite3.connect(work / "staging.db") as conn:
        return conn.execute(sql, args).fetchall()


def _signoffs(work: Path) -> list[dict[str, object]]:
    path = log_path(settings_in(work))
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [e["payload"] for e in entries if e.get("kind") == "signoff_recorded"]


class Cli:
    def __init__(self, work: Path, mappings: Path) -> None:
        self.args = ["--workdir", str(work), "--mappings", str(mappings)]

    def __call__(self, *more: str) -> int:
        return main([*self.args, *more])

    def sign(self, run_id: str, *more: str, decision: str = "approve") -> int:
        return self("audit", "signoff", run_id, "--approver", "C. Controller",
                    "--decision", decision, *more)  # fmt: skip


def test_a_partial_reconciliation_is_recorded_but_not_approved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """partial.py: fy13 FAILs; ``reconcile --entity fy12`` PASSes; approving it approved."""
    files = {"fy12": [row(1, "100.00"), row(2, "200.00")],
             "fy13": [row(1, "100.00"), row(2, "O1.00")]}  # fmt: skip
    mappings = project(tmp_path, files)
    cli = Cli(tmp_path, mappings)
    assert cli("run") == 0
    run_id = _run_id(tmp_path)
    assert cli("reconcile") == 1  # fy13: a value no one can read
    assert cli("reconcile", "--entity", "fy12") == 0
    capsys.readouterr()
    assert cli.sign(run_id) == 1
    out = capsys.readouterr().out
    assert "judged: reconciliation 2, verdict PASS" in out
    assert "outcome: NOT APPROVED" in out
    assert "it lacks fy13 (the run staged fy12, fy13)" in out
    got = _sql(tmp_path, "SELECT RECONCILIATION, VERDICT, OUTCOME, WHY FROM MIG_SIGNOFFS")
    assert got[0][:3] == (2, "PASS", "NOT APPROVED") and "lacks fy13" in str(got[0][3])
    [entry] = _signoffs(tmp_path)
    reasons = entry["not_approved_because"]
    assert entry["outcome"] == "NOT APPROVED" and isinstance(reasons, list)
    assert any("lacks fy13" in w for w in reasons)


def test_an_entity_with_an_empty_source_still_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An entity whose legacy source is empty stages no chunk, but the run still claims it
    (its mapping file is in ``MIG_RUNS.MAPPING_HASHES``): a reconciliation without it is
    partial."""
    mappings = project(tmp_path, {"fy12": [row(1, "1.00")], "fy13": []})
    cli = Cli(tmp_path, mappings)
    assert cli("run") == 0
    assert cli("reconcile", "--entity", "fy12") == 0
    capsys.readouterr()
    assert cli.sign(_run_id(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "outcome: NOT APPROVED" in out
    assert "it covers 1 of the 2 mapping files the run was started with" in out
    assert cli("reconcile") == 0
    assert cli.sign(_run_id(tmp_path)) == 0
    assert "outcome: APPROVED" in capsys.readouterr().out


def test_only_the_latest_reconciliation_approves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """stale.py: reconciliation 1 PASS, a staged amount changed, 2 FAIL, 1 approved."""
    mappings = project(tmp_path, {"pay": [row(1, "100.00"), row(2, "200.00")]})
    cli = Cli(tmp_path, mappings)
    assert cli("run") == 0
    run_id = _run_id(tmp_path)
    assert cli("reconcile") == 0
    _sql(tmp_path, "UPDATE WORKER_ANNUAL_PAY SET ANNUAL_SALARY = ANNUAL_SALARY + 100000")
    assert cli("reconcile") == 1
    capsys.readouterr()
    assert cli.sign(run_id, "--reconciliation", "1") == 1
    out = capsys.readouterr().out
    assert "outcome: NOT APPROVED" in out
    assert "reconciliation 2 (FAIL) is the run's latest" in out
    assert cli.sign(run_id, "--reconciliation", "1", decision="reject") == 0  # as given
    got = _sql(tmp_path, "SELECT RECONCILIATION, DECISION, OUTCOME FROM MIG_SIGNOFFS "
               "ORDER BY SIGNED_AT")  # fmt: skip
    assert got == [(1, "approve", "NOT APPROVED"), (1, "reject", "REJECTED")]


@pytest.mark.parametrize("status", ["failed", "running"])
def test_an_incomplete_run_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], status: str
) -> None:
    mappings = project(tmp_path, {"pay": [row(1, "100.00")]})
    cli = Cli(tmp_path, mappings)
    assert cli("run") == 0
    run_id = _run_id(tmp_path)
    assert cli("reconcile") == 0
    _sql(tmp_path, "UPDATE MIG_RUNS SET STATUS = ?", status)
    capsys.readouterr()
    assert cli.sign(run_id) == 2
    err = capsys.readouterr().err
    assert f"run {run_id} is {status}" in err and len(err.strip().splitlines()) == 1
    assert _sql(tmp_path, "SELECT COUNT(*) FROM MIG_SIGNOFFS") == [(0,)]
    assert _signoffs(tmp_path) == []


def _rec(number: int, verdict: str, exceptions: int, entities: tuple[str, ...]) -> Reconciled:
    at = f"2026-12-07T10:0{number}:00+00:00"
    files = ("w.xlsx", "c" * 64, "w.json", "d" * 64, "w.csv", "e" * 64)
    return Reconciled("r1", number, verdict, at, "t", entities, exceptions, *files)


def test_history_says_exceptions_only_of_an_exceptions_verdict() -> None:
    """Seen on 1de9d5a: "FAIL, 1 exception(s) to accept" (a FAIL is not signed at all, so
    there is nothing to accept), and "covers 1 entities"."""
    found = [_rec(1, "FAIL", 1, ("fy12", "fy13")), _rec(2, "EXCEPTIONS", 2, ("fy12", "fy13")),
             _rec(3, "PASS", 0, ("fy12",))]  # fmt: skip
    why = "it lacks fy13 (the run staged fy12, fy13)"
    signed = [SignOff("r1", 3, "c" * 64, "PASS", "C", "approve", "NOT APPROVED", 0, "",
                      "2026-12-07T11:00:00", why)]  # fmt: skip
    lines = history_lines("r1", found, signed, RunScope(("fy12", "fy13"), ("a", "b")))
    assert "  1  2026-12-07T10:01:00+00:00  FAIL: do not sign" in lines
    assert not any("FAIL, " in line for line in lines)
    assert "  2  2026-12-07T10:02:00+00:00  EXCEPTIONS, 2 exception(s) to accept" in lines
    assert "     covers   1 entity: fy12; lacks fy13, so it cannot approve the run" in lines
    assert "     covers   2 entities: fy12, fy13" in lines
    assert "     signed 2026-12-07T11:00:00 by C: approve -> NOT APPROVED" in lines
    assert "       not approved: it lacks fy13 (the run staged fy12, fy13)" in lines


def test_a_signoffs_table_made_before_why_gets_the_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A staging whose MIG_SIGNOFFS was made before the WHY column: still read, then given
    the column by the next sign-off."""
    mappings = project(tmp_path, {"pay": [row(1, "100.00")]})
    cli = Cli(tmp_path, mappings)
    assert cli("run") == 0
    run_id = _run_id(tmp_path)
    assert cli("reconcile") == 0
    assert cli.sign(run_id) == 0
    _sql(tmp_path, "ALTER TABLE MIG_SIGNOFFS DROP COLUMN WHY")
    assert cli("audit", "history", run_id) == 0
    assert "by C. Controller: approve -> APPROVED" in capsys.readouterr().out
    assert cli.sign(run_id, decision="reject") == 0
    got = _sql(tmp_path, "SELECT OUTCOME, WHY FROM MIG_SIGNOFFS ORDER BY SIGNED_AT")
    assert got == [("APPROVED", None), ("REJECTED", None)]


def test_a_reconciliation_against_a_changed_mapping_is_not_approved(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The mapping edited after the run: the reconciliation FAILs (reconcile/proving/claims.py), and
    approving it is recorded, NOT APPROVED, exit 1 (exit 0 and no reason before b2b0dfe)."""
    mappings = project(tmp_path, {"pay": [row(1, "100.00")]})
    cli = Cli(tmp_path, mappings)
    assert cli("run") == 0
    yaml = mappings / "hr" / "pay.yaml"
    yaml.write_text(yaml.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    assert cli("reconcile") == 1
    capsys.readouterr()
    assert cli.sign(_run_id(tmp_path)) == 1
    out = capsys.readouterr().out
    assert "outcome: NOT APPROVED" in out and "not approved: its verdict is FAIL" in out
