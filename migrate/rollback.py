"""Undoing runs: everything a run staged goes, and what a delta run replaced comes back.

A delta run moves the staged version of each key it updates into ``MIG_REPLACED_<table>``;
rolling it back deletes its rows and puts those versions back, in one transaction. A run
whose rows a later live run has replaced is refused (the later one must go first), and so
is resuming a delta run after a later run started (its replacements would interleave).
"""

from __future__ import annotations

import logging

from sqlalchemy import Connection, MetaData, Table, delete, select

from migrate import hooks, runs
from migrate.config import Settings, redact
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.lock import run_lock
from migrate.targets import Located, has_staging, locate_run, staging_target

log = logging.getLogger("migrate.rollback")


def _runs_table(md: MetaData) -> Table:
    return md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]


def rollback_run(settings: Settings, run_id: str) -> dict[str, int]:
    """Delete everything the run staged: rows, rejects, filtered, key-map entries, progress,
    partitions; restore the rows it replaced. Returns rows per table (``restored <table>``
    for rows put back)."""
    found = locate_run(settings, run_id)
    with run_lock(found.url, found.schema, f"rollback-{run_id}"):  # never under a running run
        return _rollback(settings, found, run_id)


def _rollback(settings: Settings, found: Located, run_id: str) -> dict[str, int]:
    md = found.md
    engine = writable_engine(found.url)
    removed: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            refuse_if_replaced_later(conn, md, run_id)
            for table in md.sorted_tables:
                col = (
                    table.c.get("MIG_RUN_ID") if "MIG_RUN_ID" in table.c else table.c.get("RUN_ID")
                )
                if col is None or table.name == "MIG_RUNS":
                    continue
                n = conn.execute(delete(table).where(col == run_id)).rowcount
                if n:
                    removed[table.name] = int(n)
            restored = restore_replaced(conn, md, run_id)
            removed.update({f"restored {name}": n for name, n in restored.items()})
            runs_t = _runs_table(md)
            conn.execute(
                runs_t.update()
                .where(runs_t.c["RUN_ID"] == run_id)
                .values(STATUS="rolled_back", ENDED_AT=runs.now())
            )
    finally:
        engine.dispose()
    event = hooks.RunEvent(run_id, found.mode, redact(found.url), found.schema)
    hooks.on_rollback(settings, event, removed)
    return removed


def clear_rehearsals(settings: Settings, keep: str | None = None) -> list[str]:
    """Roll back earlier rehearsals, so a new one starts on an empty rehearsal staging
    (staged rows are unique per key: a rehearsal on top of another would reject them all).

    Only the rehearsal staging is read or written. A rehearsal still marked ``running``
    (in progress elsewhere, or stopped and waiting for a resume) is not rolled back behind
    its owner's back: the new rehearsal is refused with what to do.
    """
    url, schema = staging_target(settings, "rehearsal")
    if not has_staging(url, schema):
        return []
    from migrate.load import ensure_staging

    md = ensure_staging(url, schema)
    table = _runs_table(md)
    engine = writable_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(table.c["RUN_ID"], table.c["STATUS"])
                .where(table.c["STATUS"] != "rolled_back")
                .order_by(table.c["STARTED_AT"].desc())
            ).all()
    finally:
        engine.dispose()
    stale = [(run_id, status) for run_id, status in rows if run_id != keep]
    running = [run_id for run_id, status in stale if status == "running"]
    if running:
        raise RunStateError(
            f"rehearsal {running[0]} is still marked running: finish it "
            f"(migrate resume {running[0]}) or roll it back (migrate rollback {running[0]}) "
            "before starting another"
        )
    for run_id, _status in stale:
        log.info("rolling back earlier rehearsal %s", run_id)
        rollback_run(settings, run_id)
    return [run_id for run_id, _ in stale]


def _archives(md: MetaData) -> list[Table]:
    return [t for t in md.sorted_tables if "replaces" in t.info]


def refuse_if_replaced_later(conn: Connection, md: MetaData, run_id: str) -> None:
    """A run whose rows a later live run has replaced cannot be rolled back before it:
    restoring under the later rows would duplicate keys."""
    runs_t = _runs_table(md)
    live = select(runs_t.c["RUN_ID"]).where(
        runs_t.c["STATUS"] != "rolled_back", runs_t.c["RUN_ID"] != run_id
    )
    for archive in _archives(md):
        later = conn.execute(
            select(archive.c["REPLACED_BY_RUN"])
            .where(archive.c["MIG_RUN_ID"] == run_id, archive.c["REPLACED_BY_RUN"].in_(live))
            .limit(1)
        ).scalar()
        if later is not None:
            raise RunStateError(
                f"run {later} replaced rows that run {run_id} staged in "
                f"{archive.info['replaces']}: roll back {later} first"
            )


def refuse_late_delta_resume(conn: Connection, md: MetaData, info: runs.RunInfo) -> None:
    """A delta run resumed after a later run started would replace that run's rows while
    the later run had replaced its own: neither could then be rolled back first."""
    runs_t = _runs_table(md)
    later = conn.execute(
        select(runs_t.c["RUN_ID"])
        .where(
            runs_t.c["STARTED_AT"] > info.started_at,
            runs_t.c["STATUS"] != "rolled_back",
            runs_t.c["MODE"] != "rehearsal",
        )
        .limit(1)
    ).scalar()
    if later is not None:
        raise RunStateError(
            f"run {later} started after delta run {info.run_id}; roll it back before "
            f"resuming {info.run_id}, or roll {info.run_id} back and run a new delta"
        )


def restore_replaced(conn: Connection, md: MetaData, run_id: str) -> dict[str, int]:
    """Undo a delta run's replacements (its own rows already deleted): the versions it
    replaced go back into their tables."""
    restored: dict[str, int] = {}
    for archive in _archives(md):
        name = str(archive.info["replaces"])
        target = md.tables[f"{md.schema}.{name}" if md.schema else name]
        cols = list(target.c.keys())
        back = select(*[archive.c[c] for c in cols]).where(archive.c["REPLACED_BY_RUN"] == run_id)
        n = conn.execute(target.insert().from_select(cols, back)).rowcount
        conn.execute(delete(archive).where(archive.c["REPLACED_BY_RUN"] == run_id))
        if n and n > 0:
            restored[name] = int(n)
    return restored
