"""What a delta run replaced, put back on rollback: apart, as a delta's resume checks it too."""

from __future__ import annotations

from sqlalchemy import Connection, MetaData, Table, delete, select

from migrate.errors import RunStateError
from migrate.runs import records as runs


def _runs_table(md: MetaData) -> Table:
    return md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]


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


def replacers(conn: Connection, md: MetaData, run_id: str) -> set[str]:
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
