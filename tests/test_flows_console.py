"""The cutover's terminal and failure line, without a Prefect server (fast).

- a failure line names the failed entities: a task that ended neither completed nor
  ``NotReady`` (crashed, cancelled) used to count as "not run", so the line read
  ``failed: ; not run (a dependency failed): …`` (seen on the failing cutovers of issue 23);
- every entity gets its line when its last task ends, the last wave's too;
- a split entity's progress is the sum of its partitions; after Ctrl-C the next committed
  chunk stops the task, and a whole record is not begun.
"""

from __future__ import annotations

import io
import queue
from typing import Any

import pytest

pytest.importorskip("prefect")

from prefect.states import Cancelled, Crashed, Failed, Pending  # noqa: E402

from flows.console import Console, Interrupted  # noqa: E402
from flows.cutover import _failures  # noqa: E402
from flows.load import outcome, run_when_ready  # noqa: E402
from migrate.progress import TerminalProgress  # noqa: E402


class Done:
    """A finished future with a given state (what ``outcome`` reads)."""

    def __init__(self, state: Any, result: dict[str, object] | None = None) -> None:
        self.state = state
        self._result = result or {}

    def wait(self) -> None:
        return None

    def result(self) -> dict[str, object]:
        return self._result


def test_a_crashed_or_cancelled_entity_is_named_as_failed() -> None:
    loaded = {
        "gl_accounts": outcome([Done(Crashed(message="server went away"))]),  # type: ignore[list-item]
        "positions": outcome([Done(Cancelled(message="cancelled by user"))]),  # type: ignore[list-item]
        "workers": outcome([Done(Failed(message="bad mapping"))]),  # type: ignore[list-item]
        "gl_journals": outcome([Done(Pending(name="NotReady", message="upstream"))]),  # type: ignore[list-item]
    }
    assert loaded["gl_accounts"] == {"status": "failed", "message": "Crashed: server went away"}
    assert loaded["positions"]["status"] == "failed"
    assert loaded["gl_journals"]["status"] == "not_run"
    line = _failures(loaded)
    assert line == (
        "failed: gl_accounts (Crashed: server went away), positions (Cancelled: cancelled by "
        "user), workers (bad mapping); not run (a dependency failed): gl_journals"
    )


def test_a_failure_line_is_never_empty() -> None:
    line = _failures({"gl_journals": {"status": "not_run", "message": "upstream"}})
    assert line.startswith("failed: none named (the flow run in Prefect says why)")


def test_every_entity_is_reported_when_its_last_task_ends() -> None:
    needs: dict[str, tuple[str, ...]] = {"a": (), "b": ("a",), "c": (), "d": ("b",)}
    tasks_of = {"a": 1, "b": 2, "c": 0, "d": 1}
    ended: queue.SimpleQueue[str] = queue.SimpleQueue()
    finished: list[str] = []

    def submit(name: str) -> None:
        for _ in range(tasks_of[name]):
            ended.put(name)

    run_when_ready(needs, submit, ended, tasks_of.__getitem__, finished.append)
    assert sorted(finished) == ["a", "b", "c", "d"] and finished.index("a") < finished.index("b")


def test_a_split_entity_shows_the_sum_of_its_partitions() -> None:
    out = io.StringIO()
    shown = Console(progress=TerminalProgress(totals={"lines": 100}, stream=out, interval=0.0))
    first, second = shown.progress_for("lines", 0), shown.progress_for("lines", 1)
    first("lines", 10, 9, 1)
    second("lines", 20, 20, 0)
    assert out.getvalue().splitlines()[-1].split()[:3] == ["lines", "30", "rows"]
    shown.entity_done("lines", {"status": "failed", "message": "disk full"})
    assert out.getvalue().splitlines()[-1] == f"{'lines':<28}  FAILED: disk full"


def test_after_ctrl_c_the_next_chunk_stops_and_no_record_begins() -> None:
    shown = Console()
    report = shown.progress_for("gl_accounts")
    report("gl_accounts", 10, 10, 0)  # quiet: nothing shown, nothing raised
    shown.stop.set()
    with pytest.raises(Interrupted, match="gl_accounts: stopped"):
        report("gl_accounts", 20, 20, 0)
    with pytest.raises(Interrupted), shown.whole():
        pytest.fail("a whole record began after Ctrl-C")
    assert shown.wait_for_whole(timeout=1)
