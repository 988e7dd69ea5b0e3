"""``migrate audit signoff`` and the cutover's sign-off follow one rule (migrate.signoff).

The decision is refused for a run that does not exist, was rolled back or was never
reconciled (nothing written: the audit log is tamper-evident, a stray entry stays forever);
otherwise it goes to the audit log and marks the run, and approving a FAIL does not approve.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from migrate import runs
from migrate.audit import log_path
from migrate.cli import main
from migrate.config import load_settings
from migrate.db import writable_engine
from migrate.runner import rollback_run, run_migration
from migrate.staging.tables import build_metadata
from tests.test_pipeline import MAPPINGS, make_estate


def _signoffs(work: Path) -> list[dict[str, object]]:
    path = log_path(load_settings(work))
    if not path.exists():
        return []
    entries = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    return [e for e in entries if e.get("kind") == "signoff_recorded"]


def _verdict(work: Path, run_id: str, value: str | None = None) -> str | None:
    engine = writable_engine(load_settings(work).url("staging"))
    md = build_metadata(None)
    try:
        if value is not None:
            runs.set_run(engine, md, run_id, VERDICT=value)
        return runs.get_run(engine, md, run_id).verdict
    finally:
        engine.dispose()


def _sign(work: Path, run_id: str, decision: str) -> int:
    args = ["audit", "signoff", run_id, "--approver", "R. Alvarez", "--decision", decision]
    return main(["--workdir", str(work), *args, "--comment", "totals agree"])


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
    assert _signoffs(work) == []  # nothing entered the audit log


def test_approval_marks_the_run_and_a_fail_is_never_approved(staged: tuple[Path, str]) -> None:
    work, run_id = staged
    _verdict(work, run_id, "FAIL")
    assert _sign(work, run_id, "approved") == 0  # the old spelling is still understood
    assert _verdict(work, run_id) == "FAIL NOT APPROVED"
    _verdict(work, run_id, "PASS")
    assert _sign(work, run_id, "approve") == 0
    assert _verdict(work, run_id) == "PASS APPROVED"
    assert _sign(work, run_id, "reject") == 0  # a later decision replaces the mark
    assert _verdict(work, run_id) == "PASS NOT APPROVED"
    decisions = [(e["payload"]["decision"], e["payload"]["approver"]) for e in _signoffs(work)]
    assert decisions == [("approve", "R. Alvarez")] * 2 + [("reject", "R. Alvarez")]


def test_refused_for_a_rolled_back_run(tmp_path: Path) -> None:
    make_estate(tmp_path, scale=200, seed=22)
    run = run_migration(load_settings(tmp_path), MAPPINGS, "full", ["suppliers_finance"])
    _verdict(tmp_path, run.run_id, "PASS")
    rollback_run(load_settings(tmp_path), run.run_id)
    assert _sign(tmp_path, run.run_id, "approve") == 2
    assert _signoffs(tmp_path) == []
