"""Key-range partitions of an entity: the unit of parallel and resumable work in a run.

A partition is a contiguous range ``lo <= column < hi`` of the entity's first group (or key)
column, so a group (a journal) never spans two partitions. The bounds are stored in
``MIG_PARTITIONS`` the first time a run plans an entity, and a resumed run reuses them, so it
works on the same ranges even if planning again would cut elsewhere. A partition is marked
done when its last chunk has committed; resuming runs only the partitions not done.

Batch ids stay unique within an entity: partition ``p`` numbers its chunks from
``p * BATCH_STRIDE + 1``, so a staged row's ``MIG_BATCH_ID`` names its partition too.

Partitions of one entity run at the same time, so an entity is split only when nothing in it
depends on the order of its rows across partitions: a cross-row ``unique`` check or a
supplier merge would race, and new ERP keys would be numbered in whichever order partitions
commit (every run must number them alike). Such entities, mostly master data, are planned as
one partition (:func:`why_not_partitioned` says why); the large transaction tables split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, MetaData, Table, func, select
from sqlalchemy.exc import IntegrityError

from migrate.runs import records as runs
from migrate.spec.model import EntitySpec

BATCH_STRIDE = 100_000


@dataclass(frozen=True)
class Partition:
    number: int
    count: int
    lo: Any = None
    hi: Any = None
    done: bool = False

    @property
    def first_batch(self) -> int:
        return self.number * BATCH_STRIDE + 1

    @property
    def bounds(self) -> tuple[Any, Any] | None:
        """Bounds for the extract (``None`` when this is the whole entity)."""
        if self.lo is None and self.hi is None:
            return None
        return (self.lo, self.hi)

    def label(self) -> str:
        return f"{self.number + 1}/{self.count}"


WHOLE = Partition(0, 1)


def why_not_partitioned(spec: EntitySpec) -> str | None:
    """Why this entity must run as one partition (``None`` when it can be split)."""
    if spec.source.table is None:
        return "its source is a query or a flat file, read as one stream"
    unique = [c.unique for c in spec.checks if c.unique is not None]
    if unique:
        cols = ", ".join(unique[0].columns)
        return f"the uniqueness check on ({cols}) must see every earlier row"
    duplicates = [c.possible_duplicate for c in spec.checks if c.possible_duplicate is not None]
    if duplicates:
        cols = ", ".join(duplicates[0].columns)
        return f"the possible-duplicate warning on ({cols}) must see every earlier row"
    if spec.issues_keys is not None:
        return "it issues ERP keys, numbered in source-key order so every run numbers them alike"
    return None


def _t(md: MetaData) -> Table:
    return md.tables[f"{md.schema}.MIG_PARTITIONS" if md.schema else "MIG_PARTITIONS"]


def stored(staging: Engine, md: MetaData, run_id: str, entity: str) -> list[Partition]:
    """The partitions a run planned for an entity (empty if not planned yet)."""
    t = _t(md)
    with staging.connect() as conn:
        rows = conn.execute(
            select(t.c.PARTITION_NO, t.c.PARTITIONS, t.c.LO_KEY, t.c.HI_KEY, t.c.DONE_AT)
            .where(t.c.RUN_ID == run_id, t.c.ENTITY == entity)
            .order_by(t.c.PARTITION_NO)
        ).all()
    return [
        Partition(int(n), int(c), _load(lo), _load(hi), done is not None)
        for n, c, lo, hi, done in rows
    ]


def plan(
    staging: Engine, md: MetaData, source: Engine | None, spec: EntitySpec, run_id: str, n: int
) -> list[Partition]:
    """The entity's partitions for the run: stored ones if planned before, else cut now."""
    existing = stored(staging, md, run_id, spec.entity)
    if existing:
        return existing
    if n > 1 and _started_whole(staging, md, run_id, spec.entity):
        n = 1  # chunks of this run are staged already: ranges cut now would re-read them
    if n > 1 and source is not None and why_not_partitioned(spec) is None:
        from migrate.extract.database import partition_bounds

        bounds = partition_bounds(spec, source, n)
    else:
        bounds = [(None, None)]
    parts = [Partition(i, len(bounds), lo, hi) for i, (lo, hi) in enumerate(bounds)]
    rows = [
        {
            "RUN_ID": run_id,
            "ENTITY": spec.entity,
            "PARTITION_NO": p.number,
            "PARTITIONS": p.count,
            "LO_KEY": _dump(p.lo),
            "HI_KEY": _dump(p.hi),
        }
        for p in parts
    ]
    try:
        with staging.begin() as conn:
            conn.execute(_t(md).insert(), rows)
    except IntegrityError:  # planned at the same moment elsewhere: that plan wins
        return stored(staging, md, run_id, spec.entity)
    return parts


def _started_whole(staging: Engine, md: MetaData, run_id: str, entity: str) -> bool:
    """Whether the run already committed chunks of the entity without a stored plan."""
    prog = md.tables[f"{md.schema}.MIG_PROGRESS" if md.schema else "MIG_PROGRESS"]
    with staging.connect() as conn:
        row = conn.execute(
            select(prog.c.BATCH_ID).where(prog.c.RUN_ID == run_id, prog.c.ENTITY == entity).limit(1)
        ).first()
    return row is not None


def mark_done(
    staging: Engine,
    md: MetaData,
    run_id: str,
    entity: str,
    partition: Partition,
    rows_in: int,
    seconds: float,
) -> None:
    """The partition is finished. Its rows are counted from its progress records, so a
    partition resumed after a crash counts the chunks committed before it too (``rows_in``,
    this attempt's, is the floor); ``seconds`` is this attempt's time."""
    t = _t(md)
    pg = md.tables[f"{md.schema}.MIG_PROGRESS" if md.schema else "MIG_PROGRESS"]
    first = partition.first_batch
    with staging.begin() as conn:
        done = conn.execute(
            select(func.coalesce(func.sum(pg.c.ROWS_IN), 0)).where(
                pg.c.RUN_ID == run_id,
                pg.c.ENTITY == entity,
                pg.c.BATCH_ID >= first,
                pg.c.BATCH_ID < first + BATCH_STRIDE,
            )
        ).scalar()
        conn.execute(
            t.update()
            .where(t.c.RUN_ID == run_id, t.c.ENTITY == entity, t.c.PARTITION_NO == partition.number)
            .values(
                ROWS_IN=max(int(done or 0), rows_in), SECONDS=f"{seconds:.3f}", DONE_AT=runs.now()
            )
        )


def _dump(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
