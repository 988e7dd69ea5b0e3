"""Where a run's staging is: the real staging or the rehearsal's own, found without creating.

A rehearsal writes into its own staging (a ``rehearsal`` schema on PostgreSQL, a separate
SQLite file, a ``<database>_rehearsal`` database on MariaDB), so the real staging is never
touched. Looking a run up must not create staging tables either: :func:`locate_run` probes
each target for ``MIG_RUNS`` before opening it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import make_url

from migrate.config import Settings
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs import records as runs
from migrate.staging.create import ensure_staging


def staging_target(settings: Settings, mode: str) -> tuple[str, str | None]:
    """(staging URL, schema) for a mode: rehearsals never touch the real staging."""
    url = settings.url("staging")
    if mode != "rehearsal":
        return url, settings.staging_schema
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database:
        db = Path(u.database)
        return str(u.set(database=str(db.with_name(db.stem + "_rehearsal" + db.suffix)))), None
    if u.get_backend_name() == "postgresql":
        return url, "rehearsal"
    return str(u.set(database=(u.database or "staging") + "_rehearsal")), None


def has_staging(url: str, schema: str | None) -> bool:
    """Whether staging bookkeeping exists there (an absent SQLite file is not created)."""
    u = make_url(url)
    if u.get_backend_name() == "sqlite" and u.database and not Path(u.database).exists():
        return False
    engine = writable_engine(url)
    try:
        return bool(inspect(engine).has_table("MIG_RUNS", schema=schema))
    except Exception:  # e.g. the rehearsal database of a MariaDB staging does not exist
        return False
    finally:
        engine.dispose()


@dataclass(frozen=True)
class Located:
    """A run and the staging that holds it."""

    mode: str  # "full" for the real staging (full and delta runs), or "rehearsal"
    url: str
    schema: str | None
    md: MetaData
    info: runs.RunInfo


def locate_run(settings: Settings, run_id: str) -> Located:
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        if not has_staging(url, schema):
            continue
        md = ensure_staging(url, schema)  # adds tables newer than this staging, if any
        engine = writable_engine(url)
        try:
            info = runs.get_run(engine, md, run_id)
        except RunStateError:
            continue
        finally:
            engine.dispose()
        return Located(mode, url, schema, md, info)
    raise RunStateError(f"unknown run id {run_id!r}")
