"""Engines for named connections; legacy engines are read-only at the session level.

Invariant 4 (the legacy systems are never written) is enforced by the database, not by
discipline: SQLite files are opened with ``mode=ro``, PostgreSQL and MariaDB sessions are
put in READ ONLY transaction mode as they connect, so an accidental INSERT fails loudly.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url


def _normalise(url: str) -> str:
    """Pick the drivers this project installs (psycopg 3, PyMySQL) when a URL names none."""
    u = make_url(url)
    if u.drivername in ("postgresql", "postgres"):
        u = u.set(drivername="postgresql+psycopg")
    elif u.drivername in ("mysql", "mariadb"):
        u = u.set(drivername="mysql+pymysql")
    return u.render_as_string(hide_password=False)


def writable_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for staging (or for building a legacy estate, which is the only writer)."""
    url = _normalise(url)
    if url.startswith("mysql"):
        kwargs.setdefault("connect_args", {"local_infile": False})
    return create_engine(url, **kwargs)


def readonly_engine(url: str, **kwargs: Any) -> Engine:
    """An engine that cannot write: used for every legacy source."""
    u = make_url(_normalise(url))
    if u.get_backend_name() == "sqlite":
        database = u.database or ""
        if database in ("", ":memory:"):
            return create_engine(u, **kwargs)
        ro = f"sqlite:///file:{database}?mode=ro&uri=true"
        return create_engine(ro, **kwargs)
    engine = create_engine(u, **kwargs)
    statement = {
        "postgresql": "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
        "mysql": "SET SESSION TRANSACTION READ ONLY",
    }.get(u.get_backend_name())
    if statement:

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute(statement)
            cur.close()
            if hasattr(dbapi_conn, "commit"):
                dbapi_conn.commit()

    return engine
