"""Which failures are transient, and retrying a chunk with back-off.

A chunk is one transaction, so retrying it after a rollback is always safe. Lost
connections, deadlocks, serialization failures, lock timeouts and SQLite's "database is
locked" are transient; everything else (a bad mapping, a missing table) is terminal and
stops the entity at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError

from migrate.errors import TransientError

log = logging.getLogger("migrate.retry")
T = TypeVar("T")

_TRANSIENT_TEXT = (
    "deadlock",
    "lock wait timeout",
    "lock timeout",
    "could not serialize",
    "database is locked",
    "server closed the connection",
    "connection reset",
    "connection refused",
    "lost connection",
    "gone away",
    "terminating connection",
    "connection timed out",
)
_TRANSIENT_SQLSTATE = ("40001", "40P01", "55P03", "57P01", "08000", "08003", "08006")


_TRANSIENT_MYSQL = (1205, 1213, 2006, 2013)  # lock wait timeout, deadlock, gone away, lost


def is_transient(exc: BaseException) -> bool:
    """Transient by SQLSTATE, MySQL error number or message; the driver's own exception
    counts as much as SQLAlchemy's wrapper (bulk loads use the raw DB-API cursor)."""
    if isinstance(exc, TransientError | DisconnectionError):
        return True
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _TRANSIENT_SQLSTATE:
        return True
    args = getattr(orig, "args", ())
    if type(orig).__module__.startswith("pymysql") and args and args[0] in _TRANSIENT_MYSQL:
        return True
    if isinstance(exc, OperationalError) or type(orig).__name__ == "OperationalError":
        text = str(orig).lower()
        return any(t in text for t in _TRANSIENT_TEXT)
    return False


_DUPLICATE_SQLSTATE = "23505"  # unique_violation
_DUPLICATE_MYSQL = (1062, 1586)  # ER_DUP_ENTRY, ER_DUP_ENTRY_WITH_KEY_NAME
_DUPLICATE_SQLITE = ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


def is_duplicate_key(exc: BaseException) -> bool:
    """A unique or primary key refused a row: by SQLSTATE, MySQL error number or SQLite's
    extended error name (not any integrity error: NOT NULL, CHECK and foreign-key failures
    are the row's own fault and would fail again). A driver that says none of these is
    taken at its word that it was an integrity error of some kind."""
    orig: BaseException = exc.orig if isinstance(exc, DBAPIError) and exc.orig else exc
    args = getattr(orig, "args", ())
    if type(orig).__module__.startswith("pymysql") and args and isinstance(args[0], int):
        return args[0] in _DUPLICATE_MYSQL  # its SQLSTATE is 23000 for every integrity error
    errno = getattr(orig, "errno", None)  # mysql-connector, mariadb: SQLSTATE 23000 as well
    if isinstance(errno, int) and errno > 0:
        return errno in _DUPLICATE_MYSQL
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code is not None:
        return bool(code == _DUPLICATE_SQLSTATE)
    name = getattr(orig, "sqlite_errorname", None)
    if name is not None:
        return name in _DUPLICATE_SQLITE
    return True


def with_retries(
    fn: Callable[[], T],
    what: str,
    attempts: int = 4,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run ``fn``; on a transient failure wait 0.5 s, 1 s, 2 s ... and try again.

    ``sleep`` defaults to ``time.sleep`` looked up at each wait (not bound when this module
    is imported), so a test that patches ``migrate.load.retry.time.sleep`` is obeyed."""
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except Exception as exc:
            if not is_transient(exc) or attempt == attempts:
                raise
            delay = base_delay * 2 ** (attempt - 1)
            log.warning(
                "%s: transient failure (%s), retry %d in %.1fs",
                what,
                type(exc).__name__,
                attempt,
                delay,
            )
            (sleep or time.sleep)(delay)
    raise AssertionError("unreachable")
