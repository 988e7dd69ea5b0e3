"""The live runs depending on a run's keys or rows: what refuses its rollback, or cascades it."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    ColumnElement,
    Connection,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    cast,
    func,
    select,
)

from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs.locate import Located
from migrate.runs.replaced_rows import replacers


def _runs_table(md: MetaData) -> Table:
    return md.tables[f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"]


def _table(md: MetaData, name: str) -> Table:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


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


def cascade_order(found: Located, run_id: str) -> list[str]:
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
                    needs[each] |= replacers(conn, found.md, each)
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
