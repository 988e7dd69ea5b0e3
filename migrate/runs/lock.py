"""One writer per staging: the run lock that ``migrate run`` and ``migrate resume`` hold.

The lock is the database's (or the operating system's) own, held by the writer's session
or open file for the whole run, so it is released when the writer ends for any reason,
kill -9 included: a lock left by a dead process cannot exist, and nothing is ever guessed
from a timestamp or a pid.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection of
  its own. The holder's run id, host and pid are in that session's ``application_name``;
  the time it took the lock is the session's ``backend_start``. Advisory locks are scoped
  to the database; the key also names the schema (a rehearsal schema has its own lock).
- MariaDB/MySQL: ``GET_LOCK`` on a connection of its own (released when the session ends);
  the holder is named by its connection id, client address and connected time, which is
  what the server shows of another session.
- SQLite: ``flock`` on ``<staging>.migrate-lock`` beside the database file, whose content
  names the holder (JSON). The kernel drops the lock when the process ends. SQLite's own
  locks cannot be used: they are per transaction and a run commits chunk by chunk.

The holder's description is only read to name it in the refusal; whether the lock is free
is decided by the lock alone.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from migrate.db import writable_engine
from migrate.errors import RunStateError

APP_PREFIX = "migrate run="
_GUARD = threading.Lock()
_HELD: dict[tuple[str, str | None], int] = {}  # the locks this process holds, and depth


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _holder(run_id: str) -> dict[str, Any]:
    return {"run_id": run_id, "host": socket.gethostname(), "pid": os.getpid(), "started": _now()}


def _busy(where: str, holder: str) -> RunStateError:
    return RunStateError(
        f"staging {where} is in use by {holder}; one run writes to a staging at a time "
        "(the lock is released when that process ends, killed or not)"
    )


@contextmanager
def run_lock(url: str, schema: str | None, run_id: str) -> Iterator[None]:
    """Hold the staging's run lock for the block, or raise :class:`RunStateError` naming
    the holder (run id, host, pid, since when) without waiting. Re-entrant within the
    process that holds it (a rehearsal's run rolls back the earlier rehearsals under its
    own lock); the lock is per process, not per thread."""
    place = (make_url(url).render_as_string(hide_password=True), schema)
    with _GUARD:
        nested = _HELD.get(place, 0) > 0
        if nested:
            _HELD[place] += 1
    if nested:
        try:
            yield
        finally:
            with _GUARD:
                _HELD[place] -= 1
        return
    with _acquire(url, schema, run_id):
        with _GUARD:
            _HELD[place] = 1
        try:
            yield
        finally:
            with _GUARD:
                _HELD.pop(place, None)


@contextmanager
def _acquire(url: str, schema: str | None, run_id: str) -> Iterator[None]:
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        with _pg_lock(url, schema, run_id):
            yield
    elif backend in ("mysql", "mariadb"):
        with _mysql_lock(url, run_id):
            yield
    elif backend == "sqlite":
        with _file_lock(url, run_id):
            yield
    else:  # pragma: no cover - staging is SQLite, PostgreSQL or MariaDB
        raise RunStateError(f"no run lock for a {backend} staging")


def _key(name: str) -> int:
    """A signed 64-bit advisory-lock key for the name (stable across processes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _pg_lock(url: str, schema: str | None, run_id: str) -> Iterator[None]:
    key = _key(f"migrate staging {schema or 'public'}")
    h = _holder(run_id)
    app = f"{APP_PREFIX}{run_id} pid={h['pid']} host={h['host']}"[:63]  # NAMEDATALEN - 1
    engine = writable_engine(url, poolclass=_null_pool(), isolation_level="AUTOCOMMIT")
    conn = engine.connect()
    try:
        conn.execute(text("SELECT set_config('application_name', :a, false)"), {"a": app})
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
            raise _busy(f"schema {schema or 'public'}", _pg_holder(conn, key))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
    finally:
        conn.close()
        engine.dispose()


def _pg_holder(conn: Connection, key: int) -> str:
    row = conn.execute(
        text(
            "SELECT a.application_name, a.backend_start, a.client_addr, a.pid "
            "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint) = :k"
        ),
        {"k": key},
    ).first()
    if row is None:  # released between the two statements: say so, do not guess
        return "another run (it has just finished; try again)"
    app, since, addr, pid = row
    named = str(app)[len(APP_PREFIX) :] if str(app).startswith(APP_PREFIX) else f"session {pid}"
    started = since.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return f"run {named}, started {started} (server session {pid}, client {addr or 'local'})"


@contextmanager
def _mysql_lock(url: str, run_id: str) -> Iterator[None]:
    u = make_url(url)
    name = f"migrate staging {u.database}"[:64]
    engine = writable_engine(url, poolclass=_null_pool())
    conn = engine.connect()
    try:
        got = conn.execute(text("SELECT GET_LOCK(:n, 0)"), {"n": name}).scalar()
        if got != 1:
            raise _busy(f"database {u.database}", _mysql_holder(conn, name))
        try:
            yield
        finally:
            conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": name})
    finally:
        conn.close()
        engine.dispose()


def _mysql_holder(conn: Connection, name: str) -> str:
    row = conn.execute(
        text(
            "SELECT p.ID, p.HOST, p.TIME FROM information_schema.PROCESSLIST p "
            "WHERE p.ID = IS_USED_LOCK(:n)"
        ),
        {"n": name},
    ).first()
    if row is None:
        return "another run (it has just finished; try again)"
    cid, host, seconds = row
    return f"another run (server connection {cid} from {host}, connected {seconds} s ago)"


@contextmanager
def _file_lock(url: str, run_id: str) -> Iterator[None]:
    import fcntl

    database = make_url(url).database or ""
    if database in ("", ":memory:"):  # a private in-memory staging has one writer
        yield
        return
    path = Path(database + ".migrate-lock")
    handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise _busy(str(Path(database).name), _file_holder(path)) from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(_holder(run_id)))
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        handle.close()


def _file_holder(path: Path) -> str:
    try:
        h = json.loads(path.read_text(encoding="utf-8"))
        return f"run {h['run_id']} (host {h['host']}, pid {h['pid']}, started {h['started']})"
    except (OSError, ValueError, KeyError, TypeError):  # being written at this moment
        return "another run (its details are being written; try again)"


def _null_pool() -> Any:
    from sqlalchemy.pool import NullPool

    return NullPool
