"""A run that staged nothing of an entity's rows never looks like a success.

The defect (a new user's second ``migrate run`` in a ``migrate demo`` folder): every one of
9,712 rows was rejected as ``duplicate_key`` (staged by the first run), nothing was staged,
and the command exited 0 without a word. Now each such entity gets one warning line naming
the reasons that took its rows (and the run that staged them), the command exits 1 (the
work failed), and ``migrate reconcile`` of that run says EXCEPTIONS, never PASS. A delta
that reads no new rows is the normal case and stays silent, exit 0.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cli.main import main
from migrate.runs.pipeline_types import EntityResult
from migrate.runs.staged_none import outcome_line, staged_none_line
from tests.test_pipeline import MAPPINGS, make_estate
from tests.test_verdict import project, row


def _cli(tmp: Path, mappings: Path, *args: str) -> int:
    return main(["--workdir", str(tmp), "--mappings", str(mappings), *args])


def _run_id(text: str) -> str:
    found = re.search(r"run ([0-9a-f]{32})", text)
    assert found, text
    return found.group(1)


def test_a_second_full_run_warns_per_entity_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = project(tmp_path, {"pay": [row(1, "1.00"), row(2, "2.00")]})
    assert _cli(tmp_path, mappings, "--quiet", "run") == 0
    first = _run_id(capsys.readouterr().out)
    assert _cli(tmp_path, mappings, "--quiet", "run") == 1
    out, err = capsys.readouterr()
    second = _run_id(out)
    assert second != first
    assert err.splitlines() == [
        f"warning: pay staged 0 of 2 rows: every row rejected (duplicate_key 2: already "
        f"staged by run {first}); roll that run back first or run a delta"
    ]


def test_the_warning_is_also_printed_with_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = project(tmp_path, {"pay": [row(1, "1.00")], "fy2": [row(1, "5.00")]})
    assert _cli(tmp_path, mappings, "run") == 0
    capsys.readouterr()
    assert _cli(tmp_path, mappings, "run", "--entity", "pay") == 1
    err = capsys.readouterr().err
    warnings = [line for line in err.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: pay staged 0 of 1 rows:")


def test_reconcile_of_a_run_that_staged_nothing_is_never_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = project(tmp_path, {"pay": [row(1, "1.00"), row(2, "2.00")]})
    assert _cli(tmp_path, mappings, "--quiet", "run") == 0
    first = _run_id(capsys.readouterr().out)
    assert _cli(tmp_path, mappings, "--quiet", "run") == 1
    second = _run_id(capsys.readouterr().out)
    assert second != first
    code = _cli(tmp_path, mappings, "--quiet", "reconcile", second)
    out = capsys.readouterr().out
    assert code == 3, out
    assert f"run {second}: EXCEPTIONS" in out and "PASS" not in out


def test_a_delta_with_no_new_rows_is_silent_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_estate(tmp_path, scale=200, seed=31)
    entities = ["--entity", "+ap_invoices"]
    assert _cli(tmp_path, MAPPINGS, "--quiet", "run", *entities) == 0
    capsys.readouterr()
    delta = ["--mode", "delta", "--entity", "ap_invoices"]  # it has a delta column
    assert _cli(tmp_path, MAPPINGS, "--quiet", "run", *delta) == 0
    out, err = capsys.readouterr()
    assert "(delta) complete: 0 in, 0 loaded" in out, out
    assert "warning" not in err


def test_a_second_full_run_of_the_estate_names_every_entity(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo's case, small: ap_invoices and the suppliers it depends on, run twice."""
    make_estate(tmp_path, scale=200, seed=32)
    entities = ["--entity", "+ap_invoices"]
    assert _cli(tmp_path, MAPPINGS, "--quiet", "run", *entities) == 0
    first = _run_id(capsys.readouterr().out)
    assert _cli(tmp_path, MAPPINGS, "--quiet", "run", *entities) == 1
    err = capsys.readouterr().err
    lines = err.splitlines()
    named = [line.split()[1] for line in lines]
    assert named == ["suppliers_finance", "suppliers_procurement", "ap_invoices"], err
    invoices = lines[-1]
    assert invoices.startswith("warning: ap_invoices staged 0 of ")
    assert f"already staged by run {first}" in invoices
    assert invoices.endswith("roll that run back first or run a delta")


def test_the_line_names_each_reason_and_the_filtered_rows() -> None:
    result = EntityResult("gl_journals", rows_in=12, rejected=9, filtered=3)
    result.reasons = {"invalid_date": 2, "required_missing": 7}
    assert staged_none_line(result, []) == (
        "warning: gl_journals staged 0 of 12 rows: every row rejected or filtered "
        "(required_missing 7, invalid_date 2; 3 filtered)"
    )
    everything_filtered = EntityResult("workers", rows_in=5, filtered=5)
    assert staged_none_line(everything_filtered, []) == (
        "warning: workers staged 0 of 5 rows: every row filtered (5 filtered)"
    )


def test_the_line_names_several_earlier_runs() -> None:
    result = EntityResult("ap_invoices", rows_in=9712, rejected=9712)
    result.reasons = {"duplicate_key": 9712}
    assert staged_none_line(result, ["b" * 32, "a" * 32]) == (
        "warning: ap_invoices staged 0 of 9,712 rows: every row rejected (duplicate_key "
        f"9,712: already staged by runs {'b' * 32}, {'a' * 32}); roll those runs back first "
        "or run a delta"
    )


def test_no_line_when_something_was_staged_or_nothing_was_read() -> None:
    assert staged_none_line(EntityResult("x", rows_in=3, loaded=1, rejected=2), []) is None
    assert staged_none_line(EntityResult("x"), []) is None  # a delta with no new rows


def test_a_cutover_outcome_gets_the_same_line_over_its_partitions() -> None:
    """What ``flows.load.outcome`` hands the cutover's console, two partitions summed."""
    parts = [
        {"rows_in": 3, "loaded": 0, "rejected": 3, "staged_by": ["a" * 32]},
        {"rows_in": 2, "loaded": 0, "rejected": 2, "staged_by": ["a" * 32]},
    ]
    outcome = {
        "status": "completed",
        "rows_in": 5,
        "loaded": 0,
        "rejected": 5,
        "filtered": 0,
        "reasons": {"duplicate_key": 5},
        "partitions": parts,
    }
    assert outcome_line("ap_invoices", outcome) == (
        "warning: ap_invoices staged 0 of 5 rows: every row rejected (duplicate_key 5: already "
        f"staged by run {'a' * 32}); roll that run back first or run a delta"
    )
    assert outcome_line("ap_invoices", {**outcome, "loaded": 1}) is None
    assert outcome_line("ap_invoices", {"status": "failed", "message": "x"}) is None
