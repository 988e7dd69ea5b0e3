"""Undoing runs: everything a run staged goes, and what a delta run replaced comes back.

A delta run moves the staged version of each key it updates into ``MIG_REPLACED_<table>``;
rolling it back deletes its rows and puts those versions back, in one transaction. A run
whose rows a later live run has replaced is refused (the later one must go first), and so
is resuming a delta run after a later run started (its replacements would interleave).

A run whose ERP keys other live runs refer to (their lookups hold them, or their key-map
entries merged into them) is refused too, naming those runs and entities: removing it
would orphan their rows (issue 22). ``cascade`` rolls the dependent runs back first,
newest first, each audited as a rollback of its own. Keys are never issued again after a
rollback (:func:`migrate.load.keymap.reserve`), so a refused rollback is the only way a
reference could have gone wrong, and it cannot.

What refers to a run is found in :mod:`migrate.runs.run_dependents`, what a delta run
replaced is put back by :mod:`migrate.runs.replaced_rows`, and the BRIN summaries of the
block ranges a run held are dropped by :mod:`migrate.runs.brin_summaries`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

from sqlalchemy import MetaData, Table, delete, select

from migrate.config import Settings, redact
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs import hooks
from migrate.runs import records as runs
from migrate.runs.brin_summaries import brin_ranges, forget_ranges
from migrate.runs.locate import Located, has_staging, locate_run, staging_target
from migrate.runs.lock import run_lock
from migrate.runs.replaced_rows import refuse_if_replaced_later, restore_replaced
from migrate.runs.run_dependents import cascade_order, refuse_if_referenced

log = logging.getLogger("migrate.rollback")


def _runs_table(md: MetaData) -> Table:
    return md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]


def rollback_run(settings: Settings, run_id: str, mappings: Path | None = None) -> dict[str, int]:
    """Delete everything the run staged: rows, rejects, filtered, key-map entries, progress,
    partitions; restore the rows it replaced. Returns rows per table (``restored <table>``
    for rows put back). Refused when other live runs refer to its keys (``mappings``, if
    given, adds the lookups of that project to the ones the runs recorded)."""
    found = located(settings, run_id)
    with run_lock(found.url, found.schema, f"rollback-{run_id}"):  # never under a running run
        _remember(found, mappings)
        return _rollback(settings, found, run_id, frozenset())


def rollback_cascade(
    settings: Settings, run_id: str, mappings: Path | None = None
) -> list[tuple[str, dict[str, int]]]:
    """Roll back the run and every live run that depends on it (refers to its keys, or
    replaced its rows), dependents first, newest first; returns each run's removed rows in
    the order they went. Each rollback is its own transaction and audit entry, so one that
    fails leaves the runs not yet reached whole, and none of them referring to a run gone."""
    found = located(settings, run_id)
    with run_lock(found.url, found.schema, f"rollback-{run_id}"):
        _remember(found, mappings)
        order = cascade_order(found, run_id)
        done: list[tuple[str, dict[str, int]]] = []
        for each in order:
            this = found if each == run_id else locate_run(settings, each)
            if each != run_id:
                log.info("rolling back run %s first: it depends on run %s", each, run_id)
            done.append((each, _rollback(settings, this, each, frozenset(order))))
        return done


def cascade_plan(settings: Settings, run_id: str, mappings: Path | None = None) -> list[str]:
    """The runs :func:`rollback_cascade` would roll back, in its order (the run itself last)."""
    found = located(settings, run_id)
    _remember(found, mappings)
    return cascade_order(found, run_id)


def located(settings: Settings, run_id: str) -> Located:
    """The run and its staging; a run already rolled back is refused, saying when."""
    found = locate_run(settings, run_id)
    if found.info.status == "rolled_back":
        when = found.info.ended_at
        at = f" on {when:%Y-%m-%d %H:%M} UTC" if isinstance(when, datetime) else ""
        raise RunStateError(f"run {run_id} was already rolled back{at}; nothing to remove")
    return found


def _rollback(
    settings: Settings, found: Located, run_id: str, going: frozenset[str]
) -> dict[str, int]:
    md = found.md
    engine = writable_engine(found.url)
    removed: dict[str, int] = {}
    try:
        with engine.begin() as conn:
            refuse_if_replaced_later(conn, md, run_id)
            refuse_if_referenced(conn, md, run_id, going)
            for table in md.sorted_tables:
                col = (
                    table.c.get("MIG_RUN_ID") if "MIG_RUN_ID" in table.c else table.c.get("RUN_ID")
                )
                if col is None or table.name == "MIG_RUNS":
                    continue
                ranges = brin_ranges(conn, table, run_id)
                n = conn.execute(delete(table).where(col == run_id)).rowcount
                if n:
                    removed[table.name] = int(n)
                    forget_ranges(conn, ranges)
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
    from migrate.staging.create import ensure_staging

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
    going = frozenset(run_id for run_id, _ in stale)  # all of them go: none holds another back
    for run_id, _status in stale:
        log.info("rolling back earlier rehearsal %s", run_id)
        found = located(settings, run_id)
        with run_lock(found.url, found.schema, f"rollback-{run_id}"):
            _rollback(settings, found, run_id, going)
    return [run_id for run_id, _ in stale]


def _remember(found: Located, mappings: Path | None) -> None:
    """Record the lookups of ``mappings`` too (runs staged by a version that did not record
    its own are then still seen referring)."""
    if mappings is None:
        return
    from migrate.spec.loader import load_project

    engine = writable_engine(found.url)
    try:
        with engine.begin() as conn:
            runs.record_references(conn, found.md, load_project(mappings))
    finally:
        engine.dispose()
