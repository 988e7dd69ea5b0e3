"""Run bookkeeping: the run record, per-chunk progress, and what a resume must skip.

A chunk's staged rows, its rejects, its filtered rows, its key-map entries and its progress
record are written in one transaction. So after a crash the progress table says exactly
which chunks are in staging, and a resume continues after the last one: no gaps, no
duplicates (invariant 5).
"""

from __future__ import annotations

import getpass
import json
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, func, select

from migrate.errors import RunStateError
from migrate.spec.loader import Project


def _t(md: MetaData, name: str) -> Any:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


def now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


_ID_GUARD = threading.Lock()
_last_id = [0, 0]  # the millisecond and the counter of the last id made by this process


def new_run_id(at_ms: int | None = None) -> str:
    """A new run id that sorts by start: a UUIDv7 (RFC 9562) written as 32 hex digits.

    The first 12 digits are the Unix time in milliseconds, so ids compare (as text, in any
    collation: lower-case hex only) in the order runs started, and a BRIN index on the run
    id column stays narrow after a rollback or a delta (issue 21). The 12 bits after the
    version count ids made in the same millisecond by this process (the RFC's method 1),
    so even those sort in the order they were made; 62 random bits follow. Older run ids
    (12 random hex digits) stay valid everywhere: a run id is only ever compared whole.
    """
    with _ID_GUARD:
        ms = time.time_ns() // 1_000_000 if at_ms is None else at_ms
        last_ms, counter = _last_id
        if ms <= last_ms:  # same millisecond (or the clock stepped back): keep counting
            ms, counter = last_ms, counter + 1
            if counter > 0xFFF:
                ms, counter = ms + 1, 0
        else:
            counter = 0
        _last_id[:] = [ms, counter]
    value = (ms & (1 << 48) - 1) << 80 | 0x7 << 76 | counter << 64
    value |= 0b10 << 62 | secrets.randbits(62)
    return f"{value:032x}"


def run_id_time(run_id: str) -> datetime | None:
    """When a time-ordered run id was made (UTC, naive), or ``None`` for an older random one."""
    if len(run_id) != 32 or run_id[12] != "7" or run_id[16] not in "89ab":
        return None
    try:
        ms = int(run_id[:12], 16)
    except ValueError:
        return None
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    mode: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    started_by: str | None
    mapping_hashes: dict[str, str]
    verdict: str | None
    workbook_sha256: str | None


def refuse_unresumable(info: RunInfo) -> None:
    """Only a stopped run can be resumed: a complete one has nothing left to do, and a
    rolled-back one has had everything it staged removed (resuming it would stage the
    whole run again under an id the audit log records as rolled back)."""
    if info.status == "complete":
        raise RunStateError(f"run {info.run_id} already completed; nothing to resume")
    if info.status == "rolled_back":
        raise RunStateError(
            f"run {info.run_id} was rolled back, so it cannot be resumed; start a new run "
            "(migrate run)"
        )


def start_run(
    engine: Engine,
    md: MetaData,
    mode: str,
    mapping_hashes: dict[str, str],
    source_identity: dict[str, str],
    run_id: str | None = None,
) -> str:
    run_id = run_id or new_run_id()
    with engine.begin() as conn:
        conn.execute(
            _t(md, "MIG_RUNS")
            .insert()
            .values(
                RUN_ID=run_id,
                MODE=mode,
                STATUS="running",
                STARTED_AT=now(),
                STARTED_BY=getpass.getuser(),
                MAPPING_HASHES=json.dumps(mapping_hashes, sort_keys=True),
                SOURCE_IDENTITY=json.dumps(source_identity, sort_keys=True),
            )
        )
    return run_id


def get_run(engine: Engine, md: MetaData, run_id: str) -> RunInfo:
    runs = _t(md, "MIG_RUNS")
    with engine.connect() as conn:
        row = conn.execute(select(runs).where(runs.c["RUN_ID"] == run_id)).mappings().first()
    if row is None:
        raise RunStateError(f"unknown run id {run_id!r}")
    return RunInfo(
        run_id=row["RUN_ID"],
        mode=row["MODE"],
        status=row["STATUS"],
        started_at=row["STARTED_AT"],
        ended_at=row["ENDED_AT"],
        started_by=row["STARTED_BY"],
        mapping_hashes=json.loads(row["MAPPING_HASHES"] or "{}"),
        verdict=row["VERDICT"],
        workbook_sha256=row["WORKBOOK_SHA256"],
    )


def latest_run(engine: Engine, md: MetaData) -> str | None:
    """The latest run that still has something staged (a rolled-back run has nothing)."""
    runs = _t(md, "MIG_RUNS")
    with engine.connect() as conn:
        return conn.execute(
            select(runs.c["RUN_ID"])
            .where(runs.c["STATUS"] != "rolled_back")
            .order_by(runs.c["STARTED_AT"].desc())
            .limit(1)
        ).scalar()


def set_run(engine: Engine, md: MetaData, run_id: str, **values: Any) -> None:
    runs = _t(md, "MIG_RUNS")
    with engine.begin() as conn:
        conn.execute(runs.update().where(runs.c["RUN_ID"] == run_id).values(**values))


def record_progress(
    conn: Connection,
    md: MetaData,
    run_id: str,
    entity: str,
    batch_id: int,
    counts: dict[str, int],
    last_key: str,
    seconds: float,
) -> None:
    conn.execute(
        _t(md, "MIG_PROGRESS")
        .insert()
        .values(
            RUN_ID=run_id,
            ENTITY=entity,
            BATCH_ID=batch_id,
            ROWS_IN=counts["rows_in"],
            LOADED=counts["loaded"],
            REJECTED=counts["rejected"],
            FILTERED=counts["filtered"],
            LAST_KEY=last_key,
            SECONDS=f"{seconds:.3f}",
            DONE_AT=now(),
        )
    )


@dataclass(frozen=True)
class Resume:
    """Where an entity (or one partition of it) stands: its next batch id and last key."""

    next_batch: int
    last_key: list[object] | None
    batches_done: int = 0


def resume_point(
    engine: Engine, md: MetaData, run_id: str, entity: str, first_batch: int = 1, stride: int = 0
) -> Resume:
    """After the last committed chunk of the entity, within ``[first_batch, +stride)`` if set."""
    prog = _t(md, "MIG_PROGRESS")
    where = [prog.c["RUN_ID"] == run_id, prog.c["ENTITY"] == entity]
    if stride:
        where += [prog.c["BATCH_ID"] >= first_batch, prog.c["BATCH_ID"] < first_batch + stride]
    with engine.connect() as conn:
        row = conn.execute(
            select(prog.c["BATCH_ID"], prog.c["LAST_KEY"])
            .where(*where)
            .order_by(prog.c["BATCH_ID"].desc())
            .limit(1)
        ).first()
    if row is None:
        return Resume(first_batch, None, 0)
    last = json.loads(row[1]) if row[1] else None
    return Resume(int(row[0]) + 1, last, int(row[0]) - first_batch + 1)


def entity_totals(engine: Engine, md: MetaData, run_id: str) -> dict[str, dict[str, int]]:
    prog = _t(md, "MIG_PROGRESS")
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                prog.c["ENTITY"],
                func.sum(prog.c["ROWS_IN"]),
                func.sum(prog.c["LOADED"]),
                func.sum(prog.c["REJECTED"]),
                func.sum(prog.c["FILTERED"]),
                func.count(),
            )
            .where(prog.c["RUN_ID"] == run_id)
            .group_by(prog.c["ENTITY"])
        ).all()
    return {
        r[0]: {
            "rows_in": int(r[1] or 0),
            "loaded": int(r[2] or 0),
            "rejected": int(r[3] or 0),
            "filtered": int(r[4] or 0),
            "batches": int(r[5]),
        }
        for r in rows
    }


@dataclass(frozen=True)
class WholeRun:
    """An entity's figures over every attempt of a run (a resumed run's earlier parts too)."""

    counts: dict[str, int]
    batches: int
    warnings: int
    reasons: dict[str, int]


def whole_run(engine: Engine, md: MetaData, run_id: str, entity: str) -> WholeRun:
    """Counted from what is committed (progress records, rejects and warnings of the run),
    the same rows an uninterrupted run would have counted in memory, so a resumed run's
    summary, audit entry and lineage statistics are the whole run's, not its last part's."""
    totals = entity_totals(engine, md, run_id).get(entity, {})
    rej, warn = _t(md, "MIG_REJECTS"), _t(md, "MIG_WARNINGS")
    with engine.connect() as conn:
        reasons = conn.execute(
            select(rej.c["REASON_CODE"], func.count())
            .where(rej.c["RUN_ID"] == run_id, rej.c["ENTITY"] == entity)
            .group_by(rej.c["REASON_CODE"])
        ).all()
        warnings = conn.execute(
            select(func.count()).where(warn.c["RUN_ID"] == run_id, warn.c["ENTITY"] == entity)
        ).scalar()
    keys = ("rows_in", "loaded", "rejected", "filtered")
    return WholeRun(
        counts={k: int(totals.get(k, 0)) for k in keys},
        batches=int(totals.get("batches", 0)),
        warnings=int(warnings or 0),
        reasons={str(r): int(n) for r, n in sorted(reasons)},
    )


def record_references(conn: Connection, md: MetaData, project: Project) -> None:
    """Which staged columns hold which key space's ERP keys (each lookup of the project's
    entities, variants included), kept in ``MIG_REFERENCES`` for rollbacks to come: the
    staging then says who refers to what without the mappings at hand."""
    refs = _t(md, "MIG_REFERENCES")
    wanted: set[tuple[str, ...]] = set()
    for name in project.order:
        spec = project.spec(name)
        every = [spec.fields, *(spec.variants or {}).values()]
        for fields in every:
            for column, field in fields.items():
                if field.lookup is not None:
                    system = field.lookup.system or spec.source.system
                    wanted.add((name, spec.target.table, column, field.lookup.domain, system))
    keys = ("ENTITY", "TABLE_NAME", "COLUMN_NAME", "DOMAIN", "SOURCE_SYSTEM")
    have = {tuple(r) for r in conn.execute(select(*[refs.c[c] for c in keys]))}
    for row in sorted(wanted - have):
        conn.execute(refs.insert().values(dict(zip(keys, row, strict=True))))
