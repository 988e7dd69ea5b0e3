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


def with_retries(
    fn: Callable[[], T],
    what: str,
    attempts: int = 4,
    base_delay: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``fn``; on a transient failure wait 0.5 s, 1 s, 2 s ... and try again."""
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
            sleep(delay)
    raise AssertionError("unreachable")
