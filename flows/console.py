"""What ``migrate cutover`` shows on its terminal while the flow runs, and how Ctrl-C stops it.

The flow also runs under a Prefect worker (a deployment), where nobody watches a terminal:
there :data:`CONSOLE` stays ``None`` and the flow only logs. ``migrate cutover`` installs a
:class:`Console` for its run: entity tasks that run in this process (threads) report their
rows through :meth:`Console.progress_for` (rows, %, rate and time left, from
:class:`migrate.progress.TerminalProgress`); the load subflow reports each entity when all
its tasks have ended (:meth:`Console.entity_done`, also for tasks that ran on Dask).

Ctrl-C: the command sets :attr:`Console.stop`; an entity task in this process then stops
after the chunk it is writing commits (:class:`Interrupted`, never retried), and the few
steps that record something as a whole (the reconciliation's record, the sign-off, the
run's end) hold :meth:`Console.whole` so the command ends before or after them, never
during.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from migrate.errors import TerminalError
from migrate.progress import TerminalProgress
from migrate.runs.staged_none import outcome_line


class Interrupted(TerminalError):
    """The cutover was stopped with Ctrl-C (a terminal error: never retried)."""


@dataclass
class Console:
    """The cutover's terminal: progress lines unless quiet, and the stop flag."""

    progress: TerminalProgress | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    _whole: threading.Lock = field(default_factory=threading.Lock)
    _parts: dict[tuple[str, int], tuple[int, int, int]] = field(default_factory=dict)

    def progress_for(self, entity: str, partition: int = 0) -> Any:
        """The pipeline's progress callback for one task (an entity or one partition of
        it): the entity's line sums its partitions; raises :class:`Interrupted` once the
        chunk just committed is the last one wanted."""

        def report(name: str, done: int, loaded: int, rejected: int) -> None:
            if self.stop.is_set():
                raise Interrupted(f"{name}: stopped (Ctrl-C) after a committed chunk")
            if self.progress is None:
                return
            self._parts[(entity, partition)] = (done, loaded, rejected)
            sums = [sum(v[i] for k, v in self._parts.items() if k[0] == entity) for i in range(3)]
            self.progress(entity, *sums)

        return report

    def begin(self, entity: str) -> None:
        if self.progress is not None:
            self.progress.begin(entity)

    def entity_done(self, entity: str, outcome: dict[str, Any]) -> None:
        """One line per entity once all its tasks have ended: loaded, failed or not run;
        then, quiet or not, a warning when it read rows and staged none (as ``migrate run``)."""
        warning = outcome_line(entity, outcome)
        if self.progress is None:
            if warning is not None:
                print(warning, file=sys.stderr, flush=True)
            return
        status = outcome.get("status")
        if status == "completed":  # the task's own seconds when it ran elsewhere (Dask)
            self.progress.begin(entity, float(outcome.get("seconds", 0.0)))
            self.progress.end(
                entity,
                int(outcome.get("rows_in", 0)),
                int(outcome.get("loaded", 0)),
                int(outcome.get("rejected", 0)),
                int(outcome.get("filtered", 0)),
            )
            if warning is not None:
                print(warning, file=self.progress.stream, flush=True)
        else:
            said = "FAILED" if status == "failed" else "not run"
            line = f"{entity:<28}  {said}: {outcome.get('message')}"
            print(line, file=self.progress.stream, flush=True)

    @contextmanager
    def whole(self) -> Iterator[None]:
        """A step that records all or nothing: Ctrl-C waits for it, or it does not start."""
        with self._whole:
            if self.stop.is_set():
                raise Interrupted("stopped (Ctrl-C) before recording")
            yield

    def wait_for_whole(self, timeout: float = 60.0) -> bool:
        """Called by the command on Ctrl-C: wait until no all-or-nothing step is running."""
        got = self._whole.acquire(timeout=timeout)
        if got:
            self._whole.release()
        return got


CONSOLE: Console | None = None


def current() -> Console | None:
    return CONSOLE


def install(console: Console | None) -> None:
    global CONSOLE
    CONSOLE = console


@contextmanager
def whole() -> Iterator[None]:
    """:meth:`Console.whole` when a console is installed; nothing otherwise."""
    if CONSOLE is None:
        yield
        return
    with CONSOLE.whole():
        yield
