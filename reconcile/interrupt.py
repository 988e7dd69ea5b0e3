"""Ctrl-C during a reconciliation: stopped within a second, even inside a long query.

Python runs a signal handler only between bytecodes of the main thread. By default a
Ctrl-C therefore waits for the SQL statement running in C to finish (a SQLite scan of a
million rows, a PostgreSQL aggregate), a statement running in a worker thread
(``both_sides.both`` asks both sides at once) is never told at all, and one of our SQLite
functions (``mig_cents``) that happens to be running when the handler fires turns the
``KeyboardInterrupt`` into an ordinary "user-defined function raised exception", which a
fallback may then take for an answer. Within :func:`interruptible`:

- SIGINT sets a flag, asks the server to cancel each statement running on PostgreSQL
  (``cancel()``) or MariaDB (``KILL QUERY`` from a connection of its own), from a thread of
  its own, and raises ``KeyboardInterrupt`` as usual;
- each SQLite connection of a :func:`watch`-ed engine asks the flag every
  :data:`PROGRESS_STEPS` virtual-machine instructions (a progress handler, any thread) and
  abandons its statement when it is set;
- a database error raised while the flag is set becomes ``KeyboardInterrupt`` (SQLAlchemy's
  ``handle_error``), so no ``except Exception`` takes an abandoned statement for a failure
  of its own;
- loops that read Arrow batches or stream rows call :func:`checkpoint`.

:func:`unwritten_if_interrupted` removes the files an interrupted write had begun, and
:func:`deferred` lets the few statements that then record them finish: an interrupted
reconciliation leaves either its whole record or none.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import Engine, event

# SQLite virtual-machine instructions between two looks at the flag: about a millisecond
# of work, and a Python call that costs well under 1% of it
PROGRESS_STEPS = 20_000


class _State:
    """The flag, the running server statements to cancel, and whether Ctrl-C is held."""

    def __init__(self) -> None:
        self.flag = threading.Event()
        self.lock = threading.Lock()
        self.running: dict[int, Callable[[], object]] = {}  # id(connection) -> its cancel
        self.depth = 0
        self.held = 0  # inside deferred(): a Ctrl-C is dropped
        self.pending = False  # one was (for the tests)


_STATE = _State()


def interrupted() -> bool:
    """Whether Ctrl-C was pressed inside the current :func:`interruptible`."""
    return _STATE.flag.is_set()


def checkpoint() -> None:
    """Stop here if Ctrl-C was pressed: for loops that may run in a worker thread, where no
    signal handler ever runs."""
    if _STATE.flag.is_set():
        raise KeyboardInterrupt


@contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C stops what runs inside within a second or two, as ``KeyboardInterrupt``.

    Only the main thread can take SIGINT; elsewhere (a flow's worker) this changes nothing.
    A SIGINT already ignored (``nohup``) stays ignored."""
    main = threading.current_thread() is threading.main_thread()
    if _STATE.depth or not main or signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        _STATE.depth += 1
        try:
            yield
        finally:
            _STATE.depth -= 1
        return
    previous = signal.signal(signal.SIGINT, _on_sigint)
    _STATE.depth += 1
    _STATE.flag.clear()
    try:
        yield
    except Exception as exc:  # an abandoned statement, surfacing as whatever it raised
        if _STATE.flag.is_set():
            raise KeyboardInterrupt from exc
        raise
    finally:
        _STATE.depth -= 1
        signal.signal(signal.SIGINT, previous)
        _STATE.flag.clear()


@contextmanager
def deferred() -> Iterator[None]:
    """Statements that must all happen or none (the record of a reconciliation whose files
    are written: milliseconds). A Ctrl-C pressed inside comes too late to stop them: it is
    dropped, and the command ends as it would have."""
    _STATE.held += 1
    try:
        yield
    finally:
        _STATE.held -= 1
        if not _STATE.held:
            _STATE.pending = False


@contextmanager
def unwritten_if_interrupted(paths: Iterable[Path]) -> Iterator[None]:
    """On Ctrl-C inside, remove those of ``paths`` that did not exist on entry (the files an
    interrupted write had begun); other errors leave them, to be looked at."""
    fresh = [p for p in paths if not p.exists()]
    try:
        yield
    except KeyboardInterrupt:
        for p in fresh:
            p.unlink(missing_ok=True)
        raise


def _on_sigint(_signum: int, _frame: FrameType | None) -> None:
    if _STATE.held:
        _STATE.pending = True
        return
    _STATE.flag.set()
    with _STATE.lock:
        running = list(_STATE.running.values())
    if running:  # a cancel is a network round trip: the handler does not wait for it
        threading.Thread(target=_cancel, args=(running,), daemon=True).start()
    raise KeyboardInterrupt


def _cancel(running: list[Callable[[], object]]) -> None:
    for cancel in running:
        with suppress(Exception):  # finished or gone meanwhile: the flag stops it anyway
            cancel()


def watch(engine: Engine) -> None:
    """Make ``engine``'s statements stop on Ctrl-C inside :func:`interruptible`."""
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _progress(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.set_progress_handler(_STATE.flag.is_set, PROGRESS_STEPS)

    elif engine.dialect.name == "postgresql":
        event.listen(engine, "before_cursor_execute", _running(lambda c: c.cancel))
        event.listen(engine, "after_cursor_execute", _finished)
    elif engine.dialect.name in ("mysql", "mariadb"):
        event.listen(engine, "before_cursor_execute", _running(partial(_kill_query, engine)))
        event.listen(engine, "after_cursor_execute", _finished)

    @event.listens_for(engine, "handle_error")
    def _abandoned(ctx: Any) -> BaseException | None:
        cursor = getattr(ctx, "cursor", None)  # a fetch's error has no cursor on its context
        if cursor is not None:
            _STATE.running.pop(id(cursor.connection), None)
        return KeyboardInterrupt() if _STATE.flag.is_set() else None


def _running(canceller: Callable[[Any], Callable[[], object]]) -> Callable[..., None]:
    """An event hook that keeps, while a statement runs, how to cancel it."""

    def hook(_conn: Any, cursor: Any, *_: Any) -> None:
        with _STATE.lock:
            _STATE.running[id(cursor.connection)] = canceller(cursor.connection)

    return hook


def _kill_query(engine: Engine, dbapi_conn: Any) -> Callable[[], object]:
    """MariaDB has no cancel on the connection: another connection kills the query."""
    thread_id = int(dbapi_conn.thread_id())

    def kill() -> None:
        args, kwargs = engine.dialect.create_connect_args(engine.url)
        killer = engine.dialect.connect(*args, **kwargs)
        try:
            killer.cursor().execute(f"KILL QUERY {thread_id}")
        finally:
            killer.close()

    return kill


def _finished(_conn: Any, cursor: Any, *_: Any) -> None:
    with _STATE.lock:
        _STATE.running.pop(id(cursor.connection), None)
