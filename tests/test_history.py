"""Rehearsals compared run over run: each run's figures outlive its rollback.

A new rehearsal rolls the earlier ones back (their progress and rejects rows go), so each
completed run keeps its figures in ``artifacts/timing/<run>.json``: rows in, loaded,
rejected and filtered per entity, rejects by reason, seconds. ``migrate rehearsals``
compares the last runs. The recorded figures are read back from the staging tables and must
equal what the run itself counted as it went.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.main import main
from migrate.config import load_settings
from migrate.runs.history import compare_outcomes, report, snapshots
from migrate.runs.runner import run_migration
from tests.test_pipeline import make_estate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def test_rehearsals_keep_their_figures_after_rollback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_estate(tmp_path, scale=200, seed=5)
    settings = load_settings(tmp_path)
    first = run_migration(settings, MAPPINGS, "rehearsal")
    second = run_migration(settings, MAPPINGS, "rehearsal", ["suppliers_finance", "ap_invoices"])

    docs = snapshots(settings, "rehearsal", 5)
    assert [d["run_id"] for d in docs] == [first.run_id, second.run_id]
    outcomes = compare_outcomes(docs)
    for run in (first, second):  # the figures read back equal what the run counted
        for e in run.entities:
            [o] = [o for o in outcomes[e.entity] if o.run_id == run.run_id]
            assert (o.rows_in, o.loaded, o.rejected, o.filtered) == (
                e.rows_in, e.loaded, e.rejected, e.filtered,
            )  # fmt: skip
            assert o.reasons == dict(sorted(e.reasons.items()))
            assert o.rows_in == o.loaded + o.rejected + o.filtered
            assert sum(o.reasons.values()) == o.rejected
    assert len(outcomes["ap_invoices"]) == 2 and len(outcomes["gl_journals"]) == 1

    assert main(["--workdir", str(tmp_path), "rehearsals", "--last", "2"]) == 0
    out = capsys.readouterr().out
    assert "2 rehearsal run(s)" in out and "forecast window" in out
    assert first.run_id[:10] in out and second.run_id[:10] in out
    invoices = next(e for e in first.entities if e.entity == "ap_invoices")
    reason, count = sorted(invoices.reasons.items())[0]
    assert any(
        line.split() == [reason, str(count), str(count)] for line in out.splitlines()
    )  # the same rejects in both rehearsals, reason by reason


def test_no_runs_recorded_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--workdir", str(tmp_path), "rehearsals"]) == 0
    assert "no complete rehearsal run recorded yet" in capsys.readouterr().out
    _write(tmp_path, "full-run-1", "2026-01-01T00:00:00", mode="full")
    assert main(["--workdir", str(tmp_path), "rehearsals"]) == 0
    out = capsys.readouterr().out  # a full run is there: say how to see it
    assert "no complete rehearsal run" in out and "full runs: --mode full" in out


def _write(
    workdir: Path, run_id: str, started: str, entity: str = "A", rejected: int = 0, **extra: str
) -> None:
    """A snapshot as a run writes it: one entity, 10 rows in, ``rejected`` of them rejected."""
    folder = workdir / "artifacts" / "timing"
    folder.mkdir(parents=True, exist_ok=True)
    timing = {"run_id": run_id, "entity": entity, "batches": 1, "rows": 10, "seconds": 1.0}
    outcome = {"run_id": run_id, "entity": entity, "rows_in": 10, "loaded": 10 - rejected}
    outcome |= {"rejected": rejected, "filtered": 0, "reasons": {}}
    doc = {"run_id": run_id, "mode": "rehearsal", "started_at": started, **extra}
    doc |= {"entities": [{**timing, "chunk_seconds": 1.0}], "outcomes": [outcome]}
    (folder / f"{run_id}.json").write_text(json.dumps(doc), encoding="utf-8")


def test_columns_are_oldest_first_whichever_entities_ran(tmp_path: Path) -> None:
    _write(tmp_path, "r1aaaaaaaa", "2026-01-01T00:00:01", entity="A", rejected=5)
    _write(tmp_path, "r2bbbbbbbb", "2026-01-01T00:00:02", entity="A", rejected=3)
    _write(tmp_path, "r3cccccccc", "2026-01-01T00:00:03", entity="B", rejected=4)
    _write(tmp_path, "r4dddddddd", "2026-01-01T00:00:04", entity="B", rejected=2)
    _write(tmp_path, "r5eeeeeeee", "2026-01-01T00:00:05", entity="A", rejected=1)
    text = report(load_settings(tmp_path), {}, "rehearsal", 5)
    runs = ["r1aaaaaaaa", "r2bbbbbbbb", "r3cccccccc", "r4dddddddd", "r5eeeeeeee"]
    heads = [line.split() for line in text.splitlines() if line.startswith(("entity", "rejected"))]
    assert heads == [["entity", "rows", *runs, "rows/s"], ["rejected", "rows", *runs]]
    rejects = text.split("rejected rows")[1].splitlines()
    b = next(line for line in rejects if line.startswith("B "))
    width = 12  # each run's column
    cells = [b[44 + i * width : 44 + (i + 1) * width].strip() for i in range(len(runs))]
    assert cells == ["", "", "4", "2", ""]  # 4 then 2 under r3, r4: converging, in run order


def test_failed_and_unreadable_snapshots_are_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _write(tmp_path, "ok00000001", "2026-01-01T00:00:01", rejected=5)
    _write(tmp_path, "failed0002", "2026-01-01T00:00:02", rejected=1, status="failed")
    (tmp_path / "artifacts" / "timing" / "half.json").write_text('{"run_id": "x", "mo')
    docs = snapshots(load_settings(tmp_path), "rehearsal", 5)
    assert [d["run_id"] for d in docs] == ["ok00000001"]
    assert "half.json: not a run snapshot" in caplog.text
