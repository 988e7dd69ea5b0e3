"""Issue 19, item 8: a failing reconciliation with many row differences keeps memory as flat
as a passing one. The workbook and the JSON list the first of each kind with exact counts;
every difference goes to the CSV beside them (``reconcile/proving/differences.py``).

Seen failing on 6fa0eac: every difference was a Python object in the report, a row of the
Differences sheet and an object in the JSON (the Baltimore FAIL: 1.68 GB, a 150 MB JSON).
"""

from __future__ import annotations

import csv
import json
import sqlite3
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook

from migrate.config import load_settings
from migrate.runs.runner import run_migration
from reconcile.proving import differences
from reconcile.proving.differences import keep
from reconcile.report import Reconciliation, RowDifference
from reconcile.reports.history import write_reports
from reconcile.run import reconcile_command
from tests.test_pipeline import MAPPINGS, make_estate
from tests.test_workbook import _ap, _gl, _run

MANY = 100_000


def _found(n: int) -> Iterator[RowDifference]:
    for i in range(n):
        kind = ("missing", "unexpected", "changed")[i % 3]
        column, a, b = ("credit", f"{i}.10", f"{i}.01") if kind == "changed" else (None, None, None)
        yield RowDifference("gl_journal", f"JE-{i:07}/1", kind, column, a, b)


def _peak(work: object) -> int:
    tracemalloc.start()
    try:
        work()  # type: ignore[operator]
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_keeping_100k_differences_holds_only_the_listed_ones() -> None:
    held: list[object] = []
    peak = _peak(lambda: held.append(keep(_found(MANY))))
    kept = held[0]
    assert isinstance(kept, differences.Kept)
    assert kept.count == MANY and len(kept.listed) == 3 * differences.LISTED_PER_KIND
    assert dict(kept.kinds) == {"missing": 33_334, "unexpected": 33_333, "changed": 33_333}
    assert len(kept.csv) < 1_500_000  # every difference, compressed
    assert peak < 8_000_000, peak  # 100k RowDifference objects alone take over 20 MB


def test_a_failing_report_is_written_in_about_the_memory_of_a_passing_one(tmp_path: Path) -> None:
    def failing(n: int) -> Reconciliation:
        kept = keep(_found(n))
        gl = replace(_gl(), differences=kept.listed, difference_count=kept.count,
                     difference_kinds=kept.kinds, differences_csv=kept.csv)  # fmt: skip
        return Reconciliation(_run(), (gl, _ap()))

    passing = Reconciliation(_run(), (replace(_gl(), differences=(), difference_count=0), _ap()))
    quiet = _peak(lambda: write_reports(passing, tmp_path / "pass", 1))
    listed = _peak(lambda: write_reports(failing(3_000), tmp_path / "3k", 1))
    many = failing(MANY)
    loud = _peak(lambda: write_reports(many, tmp_path / "fail", 1))
    print(f"peak writing: passing {quiet:,} B, 3,000 differences {listed:,} B, "
          f"{MANY:,} differences {loud:,} B")  # fmt: skip
    assert loud < listed + 2_000_000, (listed, loud)  # the 3,000 listed rows, not 100k
    assert loud < quiet + 12_000_000, (quiet, loud)
    stem = tmp_path / "fail" / "reconciliation_run-2024-06-30-001_1"
    rows = list(csv.reader(Path(f"{stem}_differences.csv").read_text("utf-8").splitlines()))
    assert len(rows) == MANY + 1
    doc = json.loads(stem.with_suffix(".json").read_text())
    gl = doc["entities"][0]
    assert gl["difference_count"] == MANY and len(gl["differences"]) == 3_000
    assert doc["differences_file"]["rows"] == MANY


def test_a_reconciled_run_lists_the_first_and_counts_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every staged supplier name changed; five listed per kind, all in the CSV."""
    monkeypatch.setattr(differences, "LISTED_PER_KIND", 5)
    make_estate(tmp_path, scale=200, seed=24)
    settings = load_settings(tmp_path)
    run = run_migration(settings, MAPPINGS, "full", ["suppliers_finance"])
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        staged = conn.execute("UPDATE SUPPLIERS SET VENDOR_NAME = VENDOR_NAME || 'x'").rowcount
    assert staged > 5
    assert reconcile_command(settings, MAPPINGS, run.run_id, None) == 1
    stem = tmp_path / "artifacts" / f"reconciliation_{run.run_id}_1"
    doc = json.loads(stem.with_suffix(".json").read_text())
    [e] = doc["entities"]
    assert e["difference_count"] == staged and e["difference_kinds"] == {"changed": staged}
    assert len(e["differences"]) == 5
    rows = list(csv.reader(Path(f"{stem}_differences.csv").read_text("utf-8").splitlines()))
    assert len(rows) == staged + 1 and {r[2] for r in rows[1:]} == {"changed"}
    wb = load_workbook(stem.with_suffix(".xlsx"))
    listed = [r for r in wb["Differences"].iter_rows(min_row=4, values_only=True) if r[0]]
    assert len(listed) == 5
    assert f"first 5 of {staged:,} changed" in wb["Differences"]["A2"].value
