"""``migrate reconcile`` says where it is while it works, and ``--quiet`` says one line.

Before, a reconciliation printed nothing between two entities' lines, for minutes on a
large table. Now a progress line comes every few seconds while an entity runs (which one,
for how long, the whole reconciliation's rows, rate and time left, from the rows the run
read), on stderr so stdout stays the report.
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.progress import ReconcileProgress
from migrate.runs.runner import run_migration
from reconcile.run import reconcile_command
from tests.test_pipeline import MAPPINGS, make_estate

TICK = re.compile(
    r"^    \.\.\. (?P<entity>\w+): (?P<secs>[\d,]+) s so far; (?P<done>\d+) of (?P<n>\d+) "
    r"entities, (?P<rows>[\d,]+) of (?P<total>[\d,]+) rows \((?P<pct>\d+)%\), "
    r"(rate not known yet|[\d,]+ rows/s, ~[\d,]+ s left)$"
)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int, int]:
    work = tmp_path_factory.mktemp("reconcile_progress")
    make_estate(work, scale=200, seed=5)
    summary = run_migration(load_settings(work), MAPPINGS, "full")
    rows = sum(e.rows_in for e in summary.entities)
    return work, summary.run_id, rows, len(summary.entities)


def test_lines_while_entities_run(
    staged: tuple[Path, str, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    work, run_id, rows, entities = staged
    code = reconcile_command(load_settings(work), MAPPINGS, run_id, str(work / "a"), tick=0.01)
    out, err = capsys.readouterr()
    assert code in (0, 1, 3)
    lines = out.splitlines()
    assert lines[0] == f"    reconciling run {run_id}"
    finished = [line for line in lines if re.match(r"^    (PASS|FAIL|EXCEPTIONS) +\w+ +rows", line)]
    assert len(finished) == entities  # a line per finished entity, as before
    ticks = [TICK.match(line) for line in err.splitlines() if line.startswith("    ... ")]
    assert ticks and all(ticks), err
    for tick in ticks:
        assert tick is not None
        assert int(tick["n"]) == entities
        assert int(tick["total"].replace(",", "")) == rows  # the rows the run read
        assert int(tick["rows"].replace(",", "")) <= rows


def test_quiet_is_one_line(
    staged: tuple[Path, str, int, int], capsys: pytest.CaptureFixture[str]
) -> None:
    work, run_id, _, _ = staged
    code = reconcile_command(
        load_settings(work), MAPPINGS, run_id, str(work / "b"), quiet=True, tick=0.01
    )
    out, err = capsys.readouterr()
    assert out.count("\n") == 1, out
    assert re.match(
        rf"^run {run_id}: (PASS|FAIL|EXCEPTIONS), reconciliation \d+, workbook \S+\.xlsx "
        r"\(sha256 [0-9a-f]{64}\)$",
        out.strip(),
    ), out
    assert "... " not in err
    assert code in (0, 1, 3)


def test_the_line_before_and_after_a_first_entity() -> None:
    shown = io.StringIO()
    progress = ReconcileProgress(stream=shown, interval=0)
    progress.begin({"gl_accounts": 1000, "gl_journals": 3000})
    progress.started("gl_accounts")
    assert progress.line().endswith("0 of 4,000 rows (0%), rate not known yet")
    progress.finished("gl_accounts", 1000)
    progress.started("gl_journals")
    line = progress.line()
    assert line.startswith("    ... gl_journals: 0 s so far; 1 of 2 entities, 1,000 of 4,000")
    assert re.search(r"rows/s, ~[\d,]+ s left$", line)
    progress.close()
