"""Rehearsals compared run over run: each run's figures outlive its rollback.

A new rehearsal rolls the earlier ones back (their progress and rejects rows go), so each
completed run keeps its figures in ``artifacts/timing/<run>.json``: rows in, loaded,
rejected and filtered per entity, rejects by reason, seconds. ``migrate rehearsals``
compares the last runs. The recorded figures are read back from the staging tables and must
equal what the run itself counted as it went.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.cli import main
from migrate.config import load_settings
from migrate.history import compare_outcomes, snapshots
from migrate.runner import run_migration
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
    assert "no rehearsal run recorded yet" in capsys.readouterr().out
