"""``migrate audit verify`` against the checkpoints a real run and reconcile leave (issue 22,
item 12), as an auditor runs it: the run checkpoints the log's head in staging, the
reconciliation's JSON and workbook carry it too, and cutting the log's tail, or rewriting
it, is named by the checkpoint that disagrees.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from cli.main import main
from migrate.audit.anchors import WORKBOOK_PROPERTY
from migrate.audit.log import log_path, read_entries
from migrate.config import load_settings
from migrate.runs.runner import run_migration
from reconcile.run import reconcile_command
from tests.test_pipeline import MAPPINGS, make_estate

KEY = "an audit key of 32 characters..."


@pytest.fixture(scope="module")
def reconciled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    work = tmp_path_factory.mktemp("anchored")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MIGRATE_AUDIT_KEY", KEY)
        make_estate(work, scale=200, seed=5)
        settings = load_settings(work)
        run = run_migration(settings, MAPPINGS, "full", ["suppliers_finance"])
        reconcile_command(settings, MAPPINGS, run.run_id, None, None)
    return work, run.run_id


def _verify(work: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--workdir", str(work), "audit", "verify"])
    return code, capsys.readouterr().out


def test_the_files_and_staging_carry_the_checkpoint(
    reconciled: tuple[Path, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work, run_id = reconciled
    monkeypatch.setenv("MIGRATE_AUDIT_KEY", KEY)
    entries = [e for _, e in read_entries(log_path(load_settings(work)))]
    assert all("mac" in e for e in entries)
    doc = json.loads((work / "artifacts" / f"reconciliation_{run_id}_1.json").read_text())
    anchor = doc["run"]["audit_anchor"]
    assert anchor["entries"] == 4 and anchor["head"] == entries[3]["hash"] and anchor["mac"]
    wb = load_workbook(work / "artifacts" / f"reconciliation_{run_id}_1.xlsx", read_only=True)
    props = {p.name: p.value for p in wb.custom_doc_props.props}
    assert json.loads(str(props[WORKBOOK_PROPERTY])) == anchor
    code, out = _verify(work, capsys)
    assert code == 0, out
    assert "note: 4 checkpoint(s) checked" in out  # run, reconciliation, JSON, workbook
    assert out.endswith(f"OK: {len(entries)} entries, chain intact; head {entries[-1]['hash']}\n")


@pytest.mark.parametrize("keyed", [True, False], ids=["with key", "without key"])
def test_a_cut_tail_is_named_by_its_checkpoint(
    reconciled: tuple[Path, str],
    keyed: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    work, run_id = reconciled
    if keyed:
        monkeypatch.setenv("MIGRATE_AUDIT_KEY", KEY)
    else:
        monkeypatch.delenv("MIGRATE_AUDIT_KEY", raising=False)
    path = log_path(load_settings(work))
    whole = path.read_text(encoding="utf-8")
    try:
        path.write_text("".join(whole.splitlines(True)[:3]), encoding="utf-8")
        code, out = _verify(work, capsys)
    finally:
        path.write_text(whole, encoding="utf-8")
    assert code == 1
    assert f"checkpoint in staging MIG_AUDIT_ANCHORS (run {run_id}, rejects_by_reason)" in out
    assert f"checkpoint in reconciliation_{run_id}_1.json says the log held 4" in out
    assert f"checkpoint in reconciliation_{run_id}_1.xlsx says the log held 4" in out
    assert "entries were cut off the end" in out
    if not keyed:  # the log was written with the key: its MACs cannot be checked
        assert "(seq 1): not verified: 3 entries carry MACs" in out
