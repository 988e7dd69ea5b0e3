"""Progress on the terminal for long work: rows, rate and time left, one line per entity."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class TerminalProgress:
    """Prints at most every ``interval`` seconds while an entity runs, and its last line
    when it ends (:meth:`end`, called by the runner)."""

    totals: dict[str, int] = field(default_factory=dict)
    stream: TextIO = field(default_factory=lambda: sys.stderr)  # the one current when made
    interval: float = 1.0
    _started: dict[str, float] = field(default_factory=dict)
    _last: float = 0.0

    def begin(self, entity: str) -> None:
        """The entity's clock starts (once: the partitions of a split entity share it)."""
        self._started.setdefault(entity, time.perf_counter())

    def __call__(self, entity: str, done: int, loaded: int, rejected: int) -> None:
        now = time.perf_counter()
        self._started.setdefault(entity, now)
        total = self.totals.get(entity)
        if now - self._last < self.interval or (total is not None and done >= total):
            return  # the entity's last line comes from ``end``
        self._print(entity, done, loaded, rejected, False)

    def end(self, entity: str, done: int, loaded: int, rejected: int, filtered: int = 0) -> None:
        """The entity's last line, with its filtered rows, so loaded + rejected + filtered
        adds up to its rows. Always printed: a file source has no count beforehand, and a
        delta or a resumed run reads fewer rows than the count."""
        self._print(entity, done, loaded, rejected, True, filtered)

    def _print(
        self, entity: str, done: int, loaded: int, rejected: int, final: bool, filtered: int = 0
    ) -> None:
        now = time.perf_counter()
        self._last = now
        elapsed = max(now - self._started.setdefault(entity, now), 1e-6)
        rate = done / elapsed
        parts = [
            f"{entity:<28}",
            f"{done:>10,} rows",
            f"{rate:>10,.0f} rows/s",
            f"loaded {loaded:,}",
            f"rejected {rejected:,}",
        ]
        if filtered:
            parts.append(f"filtered {filtered:,}")
        total = self.totals.get(entity)
        if total and (not final or done == total):
            parts.insert(2, f"{100 * min(done, total) / total:5.1f}%")
        if final:
            parts.append("done")
        elif total and rate:
            parts.append(f"~{max(total - done, 0) / rate:,.0f}s left")
        print("  ".join(parts), file=self.stream, flush=True)
