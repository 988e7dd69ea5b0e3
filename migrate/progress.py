"""Progress on the terminal for long work: rows, rate and time left, one line per entity."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class TerminalProgress:
    """Prints at most every ``interval`` seconds, and once when an entity finishes."""

    totals: dict[str, int] = field(default_factory=dict)
    stream: TextIO = sys.stderr
    interval: float = 1.0
    _started: dict[str, float] = field(default_factory=dict)
    _last: float = 0.0

    def begin(self, entity: str) -> None:
        self._started[entity] = time.perf_counter()

    def __call__(self, entity: str, done: int, loaded: int, rejected: int) -> None:
        now = time.perf_counter()
        start = self._started.setdefault(entity, now)
        total = self.totals.get(entity)
        finished = total is not None and done >= total
        if not finished and now - self._last < self.interval:
            return
        self._last = now
        elapsed = max(now - start, 1e-6)
        rate = done / elapsed
        parts = [
            f"{entity:<28}",
            f"{done:>10,} rows",
            f"{rate:>10,.0f} rows/s",
            f"loaded {loaded:,}",
            f"rejected {rejected:,}",
        ]
        if total:
            left = (total - done) / rate if rate else 0.0
            parts.insert(2, f"{100 * done / total:5.1f}%")
            parts.append(f"~{left:,.0f}s left" if not finished else "done")
        print("  ".join(parts), file=self.stream, flush=True)
