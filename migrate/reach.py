"""Can each named connection be used? Probed before a command starts work.

Without a probe, a staging server that is down surfaces deep inside a command as "unknown
run id" or "no run to reconcile", and a legacy one as "source table not found". Probing
first names the cause (which connection, what the driver said) in one line, and the
command line gives it its own exit code (:data:`cli.main.CONNECTION_FAILED`). A probe
never creates anything: a SQLite file that is not there is reported, not made.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from migrate.config import LEGACY_SYSTEMS, Settings, redact
from migrate.db import _normalise
from migrate.errors import ConnectionFailed

CONNECT_TIMEOUT = 5  # seconds: a server that does not answer in 5 s is down for a person
_MARKS = (
    "connection refused",
    "could not connect",
    "connection failed",
    "can't connect",
    "lost connection",
    "server closed the connection",
    "unable to open database file",
    "unknown database",
    "authentication failed",
    "access denied",
    "read-only transaction",
    "readonly database",
    "timeout expired",
    "name or service not known",
)


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for another backend or an in-memory database)."""
    u = make_url(url)
    if u.get_backend_name() != "sqlite" or not u.database or u.database == ":memory:":
        return None
    return Path(u.database)


def probe(settings: Settings, name: str, url: str | None = None, write: bool = False) -> None:
    """Raise :class:`ConnectionFailed` when connection ``name`` (at ``url``, by default its
    configured one) cannot be reached or, with ``write``, cannot be written."""
    url = url or settings.url(name)
    file = sqlite_path(url)
    if file is not None:
        _probe_file(name, file, write)
        return
    engine = create_engine(_normalise(url), connect_args={"connect_timeout": CONNECT_TIMEOUT})
    try:
        with engine.connect() as conn:
            if write and _read_only(conn):
                raise ConnectionFailed(
                    f"{name} {redact(url)} is read-only (its transactions are read-only): "
                    "point MIGRATE_STAGING_URL at a database this role can write"
                )
    except ConnectionFailed:
        raise
    except Exception as exc:  # noqa: BLE001 - every driver failure becomes one line
        raise ConnectionFailed(describe(name, url, exc)) from exc
    finally:
        engine.dispose()


def _probe_file(name: str, file: Path, write: bool) -> None:
    if name in LEGACY_SYSTEMS and not file.exists():
        raise ConnectionFailed(
            f"cannot connect to {name}: the legacy database {file} does not exist (set "
            f"MIGRATE_{name.upper()}_URL or [connections] {name} in migrate.toml, or build the "
            "demo estate with `migrate estate build`)"
        )
    if write and file.exists() and not os.access(file, os.W_OK):
        raise ConnectionFailed(f"{name} {file} is read-only (the file cannot be written)")
    if write and not file.exists() and not file.parent.is_dir():
        raise ConnectionFailed(f"cannot create {name} at {file}: folder {file.parent} is missing")


def _read_only(conn: Any) -> bool:
    backend = conn.engine.dialect.name
    if backend == "postgresql":
        return str(conn.execute(text("SHOW transaction_read_only")).scalar()) == "on"
    if backend in ("mysql", "mariadb"):
        for variable in ("@@transaction_read_only", "@@tx_read_only"):
            try:
                return bool(int(conn.execute(text(f"SELECT {variable}")).scalar() or 0))
            except Exception:  # noqa: BLE001 - the variable's name differs by version
                continue
    return False


def describe(name: str, url: str, exc: BaseException) -> str:
    """One line: which connection, where (password hidden), and the driver's first line,
    with what to do for a database that does not exist."""
    reason = driver_message(exc)
    missing = re.search(r"(?:unknown database|database) ['\"]([^'\"]+)['\"]", reason, re.I)
    if missing and ("unknown database" in reason.lower() or "does not exist" in reason.lower()):
        db = missing.group(1)
        hint = f"create it first (CREATE DATABASE {db})"
        if db.endswith("_rehearsal"):
            hint += "; a rehearsal writes into its own <database>_rehearsal, never the real one"
        return f"cannot connect to {name} {redact(url)}: database {db!r} does not exist; {hint}"
    return f"cannot connect to {name} {redact(url)}: {reason}"


def driver_message(exc: BaseException) -> str:
    """The driver's own message (not SQLAlchemy's wrapping), first meaningful line."""
    inner = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
    lines = [ln.strip() for ln in str(inner).splitlines() if ln.strip()]
    found = " ".join(lines[:2]) if lines else type(inner).__name__
    return found.split("(Background on this error")[0].strip()


def connection_cause(exc: BaseException) -> str | None:
    """When a database connection failing (refused, lost, read-only) is what stopped ``exc``
    (itself or an exception it was raised from), the driver's line saying so; else None."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) or type(current).__name__ == "OperationalError":
            line = driver_message(current)
            low = line.lower()
            if any(m in low for m in _MARKS) or re.search(r"database .* does not exist", low):
                return line
        current = current.__cause__ or current.__context__
    return None
