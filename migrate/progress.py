"""Progress on the terminal for long work: rows, rate and time left, one line per entity.

:class:`TerminalProgress` for loading (``migrate run``, ``resume``, ``cutover``): rows of the
entity being loaded, % of its source, rate and time left. :class:`ReconcileProgress` for
``migrate reconcile`` and the cutover's reconciliation: while an entity is proved, which one
and the whole reconciliation's rows, rate and time left.
"""

from __future__ import annotations

import sys
import threading
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

    def begin(self, entity: str, seconds_ago: float = 0.0) -> None:
        """The entity's clock starts (once: the partitions of a split entity share it);
        ``seconds_ago`` for work done elsewhere (a Dask worker), reported only at its end."""
        self._started.setdefault(entity, time.perf_counter() - seconds_ago)

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


@dataclass
class ReconcileProgress:
    """A reconciliation's progress between its per-entity lines: while an entity is being
    proved, every ``interval`` seconds a line names it, how long it has taken so far, and
    the whole reconciliation's rows, rate and time left. The totals are the rows the run
    read from each source (recorded when it loaded them), so the time left is known before
    the first entity is read; the rate is that of the entities finished so far.

    A ticker thread writes the lines, so an entity that takes minutes in one long query
    still shows it is alive. Use as a context manager (the thread ends with the block)."""

    stream: TextIO = field(default_factory=lambda: sys.stderr)
    interval: float = 10.0
    expected: dict[str, int] = field(default_factory=dict)
    _done_rows: int = 0
    _done: int = 0
    _current: str | None = None
    _since: float = 0.0
    _began: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> ReconcileProgress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def begin(self, expected: dict[str, int]) -> None:
        """The entities to reconcile, each with the source rows the run read; starts the
        ticker."""
        self.expected = dict(expected)
        self._began = time.perf_counter()
        if self._thread is None and self.interval > 0:
            self._thread = threading.Thread(target=self._tick, name="reconcile-progress")
            self._thread.daemon = True
            self._thread.start()

    def started(self, entity: str) -> None:
        self._current, self._since = entity, time.perf_counter()

    def finished(self, entity: str, rows: int) -> None:
        self._done += 1
        self._done_rows += self.expected.get(entity) or rows  # as counted in the total
        self._current = None

    def line(self) -> str:
        """Where the reconciliation stands: what is running, rows done of all, rate, left."""
        now = time.perf_counter()
        total = sum(self.expected.values())
        parts = [f"{self._done} of {len(self.expected)} entities"]
        if total:
            share = 100 * min(self._done_rows, total) / total
            parts.append(f"{self._done_rows:,} of {total:,} rows ({share:.0f}%)")
        rate = self._done_rows / max(now - self._began, 1e-6) if self._done_rows else 0.0
        if rate and total:
            parts.append(f"{rate:,.0f} rows/s")
            parts.append(f"~{max(total - self._done_rows, 0) / rate:,.0f} s left")
        else:
            parts.append("rate not known yet")
        head = f"{self._current}: {now - self._since:,.0f} s so far; " if self._current else ""
        return "    ... " + head + ", ".join(parts)

    def show(self) -> None:
        print(self.line(), file=self.stream, flush=True)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=1)
            self._thread = None

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            if self._current is not None:
                self.show()
