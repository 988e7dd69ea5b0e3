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
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    delete,
    func,
    select,
)

from migrate.config import Settings, redact
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs import hooks
from migrate.runs import records as runs
from migrate.runs.locate import Located, has_staging, locate_run, staging_target
from migrate.runs.lock import run_lock

log = logging.getLogger("migrate.rollback")


def _runs_table(md: MetaData) -> Table:
    return md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]


def _table(md: MetaData, name: str) -> Table:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


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
        order = _plan(found, run_id)
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
    return _plan(found, run_id)


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
    from migrate.load.bulk import ensure_staging

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


def dependents(conn: Connection, md: MetaData, run_id: str) -> dict[str, list[str]]:
    """Other live runs that refer to ERP keys this run issued, with what refers: rows whose
    lookup column holds one of its keys, and key-map entries that merged into one."""
    km, refs = _table(md, "MIG_KEY_MAP"), _table(md, "MIG_REFERENCES")
    runs_t = _runs_table(md)
    live = select(runs_t.c["RUN_ID"]).where(
        runs_t.c["STATUS"] != "rolled_back", runs_t.c["RUN_ID"] != run_id
    )
    found: dict[str, list[str]] = {}
    for entity, name, column, domain, system in conn.execute(select(refs).order_by(*refs.c)):
        table = md.tables.get(f"{md.schema}.{name}" if md.schema else name)
        if table is None or column not in table.c or "MIG_ENTITY" not in table.c:
            continue  # a mapping's lookup into a table this staging does not have
        mine = and_(
            km.c["DOMAIN"] == domain, km.c["SOURCE_SYSTEM"] == system, km.c["RUN_ID"] == run_id
        )
        stmt = (
            select(table.c["MIG_RUN_ID"], func.count())
            .select_from(table.join(km, and_(mine, _same_key(conn, km, table, column))))
            .where(table.c["MIG_ENTITY"] == entity, table.c["MIG_RUN_ID"].in_(live))
            .group_by(table.c["MIG_RUN_ID"])
        )
        for other, n in conn.execute(stmt):
            found.setdefault(str(other), []).append(f"{entity} ({n:,} rows -> {domain} keys)")
    began = select(runs_t.c["STARTED_AT"]).where(runs_t.c["RUN_ID"] == run_id)
    after = select(runs_t.c["RUN_ID"]).where(  # a merge reuses a key staged before it
        runs_t.c["STATUS"] != "rolled_back", runs_t.c["STARTED_AT"] > began.scalar_subquery()
    )
    merged = km.alias("merged")
    stmt = (
        select(merged.c["RUN_ID"], merged.c["SOURCE_SYSTEM"], merged.c["DOMAIN"], func.count())
        .select_from(
            merged.join(
                km,
                and_(
                    km.c["DOMAIN"] == merged.c["DOMAIN"],
                    km.c["ERP_KEY"] == merged.c["ERP_KEY"],
                    km.c["RUN_ID"] == run_id,
                ),
            )
        )
        .where(merged.c["RUN_ID"].in_(after))
        .group_by(merged.c["RUN_ID"], merged.c["SOURCE_SYSTEM"], merged.c["DOMAIN"])
    )
    for other, system, domain, n in conn.execute(stmt):
        what = f"key map ({n:,} {system} {domain} keys merged into its records)"
        found.setdefault(str(other), []).append(what)
    return found


def _same_key(conn: Connection, km: Table, table: Table, column: str) -> ColumnElement[bool]:
    """The staged value is this key-map entry's ERP key (an integer column, or its text)."""
    value, erp = table.c[column], km.c["ERP_KEY"]
    if isinstance(value.type, Integer):
        return erp == value
    text = cast(erp, String) == value
    if conn.dialect.name == "sqlite":  # by number first: the (DOMAIN, ERP_KEY) index serves
        return and_(erp == cast(value, Integer), text)
    return text


def refuse_if_referenced(
    conn: Connection, md: MetaData, run_id: str, going: Iterable[str] = ()
) -> None:
    """Refuse (one line naming the runs and what of theirs refers) a rollback that would
    orphan rows of other live runs; runs in ``going`` are being rolled back as well."""
    deps = {r: w for r, w in dependents(conn, md, run_id).items() if r not in set(going)}
    if not deps:
        return
    started = _started(conn, md, deps)
    named = "; ".join(
        f"run {r}: {', '.join(deps[r])}"
        for r in sorted(deps, key=lambda r: started.get(r, r), reverse=True)
    )
    raise RunStateError(
        f"run {run_id} not rolled back: other runs refer to keys it issued ({named}); roll "
        f"those back first, or: migrate rollback {run_id} --cascade (newest first)"
    )


def _started(conn: Connection, md: MetaData, run_ids: Iterable[str]) -> dict[str, str]:
    runs_t = _runs_table(md)
    rows = conn.execute(
        select(runs_t.c["RUN_ID"], runs_t.c["STARTED_AT"]).where(
            runs_t.c["RUN_ID"].in_(sorted(set(run_ids)))
        )
    )
    return {str(r): f"{at.isoformat() if at else ''}|{r}" for r, at in rows}


def _replacers(conn: Connection, md: MetaData, run_id: str) -> set[str]:
    """Live runs that replaced rows this run staged (a delta after it)."""
    runs_t = _runs_table(md)
    live = select(runs_t.c["RUN_ID"]).where(runs_t.c["STATUS"] != "rolled_back")
    out: set[str] = set()
    for archive in _archives(md):
        rows = conn.execute(
            select(archive.c["REPLACED_BY_RUN"])
            .where(archive.c["MIG_RUN_ID"] == run_id, archive.c["REPLACED_BY_RUN"].in_(live))
            .distinct()
        ).scalars()
        out.update(str(r) for r in rows if r != run_id)
    return out


def _plan(found: Located, run_id: str) -> list[str]:
    """The run and all that depends on it, transitively, in an order where no run goes
    before one that depends on it (newest first among those free to go)."""
    engine = writable_engine(found.url)
    try:
        with engine.connect() as conn:
            needs: dict[str, set[str]] = {}
            todo = [run_id]
            while todo:
                each = todo.pop()
                if each not in needs:
                    needs[each] = set(dependents(conn, found.md, each))
                    needs[each] |= _replacers(conn, found.md, each)
                    todo += sorted(needs[each])
            started = _started(conn, found.md, needs)
    finally:
        engine.dispose()
    order: list[str] = []
    left = set(needs)
    while left:
        free = [r for r in left if not needs[r] & (left - {r})] or sorted(left)  # a cycle
        order.append(max(free, key=lambda r: started.get(r, r)))
        left.discard(order[-1])
    return order


def brin_ranges(conn: Connection, table: Table, run_id: str) -> list[tuple[str, int]]:
    """PostgreSQL: (BRIN index, first block) of each block range of ``table`` holding the
    run's rows, for the BRIN indexes on ``MIG_RUN_ID``; nothing elsewhere."""
    if conn.dialect.name != "postgresql" or "MIG_RUN_ID" not in table.c:
        return []
    name = conn.dialect.identifier_preparer.format_table(table)
    indexes = conn.exec_driver_sql(
        "SELECT x.indexrelid::regclass::text, COALESCE((SELECT o.option_value::int FROM "
        "pg_options_to_table(i.reloptions) o WHERE o.option_name = 'pages_per_range'), 128) "
        "FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_am a ON a.oid = "
        "i.relam JOIN pg_attribute c ON c.attrelid = x.indrelid AND c.attnum = x.indkey[0] "
        "WHERE x.indrelid = %(t)s::regclass AND a.amname = 'brin' AND c.attname = 'MIG_RUN_ID'",
        {"t": name},
    ).all()
    if not indexes:
        return []
    lo, hi = conn.exec_driver_sql(
        "SELECT min((ctid::text::point)[0])::bigint, max((ctid::text::point)[0])::bigint "
        f'FROM {name} WHERE "MIG_RUN_ID" = %(r)s',
        {"r": run_id},
    ).one()
    if lo is None:
        return []
    return [(idx, b) for idx, per in indexes for b in range(lo // per * per, hi + 1, per)]


def forget_ranges(conn: Connection, ranges: list[tuple[str, int]]) -> None:
    """Drop the summaries of the block ranges a rolled-back run held: they still span its
    id, and rows a later run puts into the freed space would widen them to every run id
    in between for good (measured: queries by run id then read twice their blocks).
    Unsummarized ranges are read by every query until the next VACUUM summarizes them
    again from the rows that are left."""
    for index, block in ranges:
        conn.exec_driver_sql(
            "SELECT brin_desummarize_range(%(i)s::regclass, %(b)s)", {"i": index, "b": block}
        )
