"""The scans of the two sides run at once: their cached values do not share a lock."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from reconcile.reading.cached import cached


@dataclass(frozen=True)
class Side:
    meeting: threading.Barrier
    calls: list[str] = field(default_factory=list)

    @cached
    def scan(self) -> str:
        self.calls.append("scan")
        self.meeting.wait(timeout=10)  # both sides inside at once, or BrokenBarrierError
        return "done"


def test_two_instances_compute_at_the_same_time() -> None:
    meeting = threading.Barrier(2)
    left, right = Side(meeting), Side(meeting)
    with ThreadPoolExecutor(2) as pool:
        results = [
            f.result() for f in (pool.submit(lambda: left.scan), pool.submit(lambda: right.scan))
        ]
    assert results == ["done", "done"]


def test_value_is_computed_once_per_instance() -> None:
    side = Side(threading.Barrier(1))
    assert (side.scan, side.scan) == ("done", "done")
    assert side.calls == ["scan"]
    assert Side.scan.name == "scan"  # the descriptor itself, read from the class
