"""What each run did, kept after it is rolled back, and rehearsals compared run over run.

A new rehearsal rolls the earlier ones back, and with them their ``MIG_PROGRESS`` and
``MIG_REJECTS`` rows; so every run that completes (``migrate run``, ``migrate resume``, the
cutover flow) writes its figures to ``artifacts/timing/<run>.json`` (:func:`snapshot`):
per entity its rows in, loaded, rejected and filtered, its rejects by reason, its wall
seconds, and the seconds of each key-range partition of a split entity. ``migrate
rehearsals`` compares the last few runs of a mode (:func:`compare`): whether rejects
converge (reason by reason) and how long each entity takes, and forecasts the cutover
window: each entity's mean seconds, along the longest dependency path (entities of one
wave run side by side, so the window is the critical path, not the sum).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from statistics import mean
from typing import Any

from sqlalchemy import Engine, MetaData, func, select

from migrate.audit import log as audit
from migrate.config import Settings

FOLDER = "timing"
log = logging.getLogger("migrate.history")


def _table(md: MetaData, name: str) -> Any:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


@dataclass(frozen=True)
class EntityTiming:
    """One entity in one run: wall seconds from its first chunk's start to its last commit,
    less any time the run stood stopped (:func:`working_seconds`)."""

    run_id: str
    entity: str
    batches: int
    rows: int
    seconds: float
    chunk_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class PartitionTiming:
    """One key-range partition of an entity in one run (only entities that were split)."""

    run_id: str
    entity: str
    partition: int
    partitions: int
    rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True)
class EntityOutcome:
    """Where one entity's source rows went in one run, and its rejects by reason code."""

    run_id: str
    entity: str
    rows_in: int
    loaded: int
    rejected: int
    filtered: int
    reasons: dict[str, int] = field(default_factory=dict)


def entity_timings(
    engine: Engine, md: MetaData, run_id: str, resumed: Sequence[datetime] = ()
) -> list[EntityTiming]:
    """Per entity of the run, in the order the entities finished; ``resumed``: when each
    attempt of the run started (:func:`attempt_starts`), so a stop is left out."""
    p = _table(md, "MIG_PROGRESS")
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.ENTITY, p.c.BATCH_ID, p.c.ROWS_IN, p.c.SECONDS, p.c.DONE_AT)
            .where(p.c.RUN_ID == run_id)
            .order_by(p.c.DONE_AT)
        ).all()
    chunks: dict[str, list[tuple[int, float, Any]]] = {}
    for entity, _batch, rows_in, secs, done in rows:
        chunks.setdefault(entity, []).append((int(rows_in), float(secs or 0), done))
    out = []
    for entity, parts in chunks.items():
        wall = working_seconds([(s, d) for _, s, d in parts], resumed)
        total = sum(r for r, _, _ in parts)
        out.append(
            EntityTiming(run_id, entity, len(parts), total, wall, sum(s for _, s, _ in parts))
        )
    return out


def working_seconds(
    chunks: list[tuple[float, datetime]], resumed: Sequence[datetime] = ()
) -> float:
    """Wall seconds of an entity's chunks (each its own seconds and commit time, in commit
    order), less the time the run stood stopped.

    From one commit to the next the run read, prepared and wrote a chunk; but when an
    attempt of the run started in between (``resumed``: the run was killed and resumed,
    perhaps the next morning), only the time from that start to the commit counts. A
    killed rehearsal then forecasts its working time, not the night."""
    if not chunks:
        return 0.0
    wall = chunks[0][0]
    for (_, before), (_, done) in pairwise(chunks):
        restarts = [t for t in resumed if before < t <= done]
        wall += (done - (max(restarts) if restarts else before)).total_seconds()
    return wall


def attempt_starts(settings: Settings, run_id: str) -> list[datetime]:
    """When each attempt of the run started (it and each resume), from the audit log's
    ``run_started`` entries, as naive UTC like ``MIG_PROGRESS.DONE_AT``; none when the
    log is not there (the seconds then run first chunk to last commit)."""
    out: list[datetime] = []
    for _, entry in audit.read_entries(audit.log_path(settings)):
        payload = entry.get("payload")
        if entry.get("kind") != "run_started" or not isinstance(payload, dict):
            continue
        if payload.get("run_id") != run_id:
            continue
        try:
            at = datetime.fromisoformat(str(entry.get("time")))
        except ValueError:
            continue
        out.append(at.astimezone(UTC).replace(tzinfo=None) if at.tzinfo else at)
    return out


def partition_timings(engine: Engine, md: MetaData, run_id: str) -> list[PartitionTiming]:
    """Finished partitions of split entities, by entity then partition number."""
    t = _table(md, "MIG_PARTITIONS")
    with engine.connect() as conn:
        rows = conn.execute(
            select(t.c.ENTITY, t.c.PARTITION_NO, t.c.PARTITIONS, t.c.ROWS_IN, t.c.SECONDS)
            .where(t.c.RUN_ID == run_id, t.c.PARTITIONS > 1, t.c.DONE_AT.is_not(None))
            .order_by(t.c.ENTITY, t.c.PARTITION_NO)
        ).all()
    return [
        PartitionTiming(run_id, e, int(n), int(c), int(r or 0), float(sec or 0))
        for e, n, c, r, sec in rows
    ]


def entity_outcomes(engine: Engine, md: MetaData, run_id: str) -> list[EntityOutcome]:
    """Rows in, loaded, rejected and filtered per entity (its progress records) and its
    rejects counted by reason code, by entity name."""
    p, rj = _table(md, "MIG_PROGRESS"), _table(md, "MIG_REJECTS")
    with engine.connect() as conn:
        totals = conn.execute(
            select(
                p.c.ENTITY,
                func.sum(p.c.ROWS_IN),
                func.sum(p.c.LOADED),
                func.sum(p.c.REJECTED),
                func.sum(p.c.FILTERED),
            )
            .where(p.c.RUN_ID == run_id)
            .group_by(p.c.ENTITY)
            .order_by(p.c.ENTITY)
        ).all()
        reasons = conn.execute(
            select(rj.c.ENTITY, rj.c.REASON_CODE, func.count())
            .where(rj.c.RUN_ID == run_id)
            .group_by(rj.c.ENTITY, rj.c.REASON_CODE)
        ).all()
    by_entity: dict[str, dict[str, int]] = {}
    for entity, reason, count in reasons:
        by_entity.setdefault(entity, {})[reason] = int(count)
    return [
        EntityOutcome(
            run_id,
            e,
            int(n or 0),
            int(ld or 0),
            int(rj_ or 0),
            int(f or 0),
            dict(sorted(by_entity.get(e, {}).items())),
        )  # fmt: skip
        for e, n, ld, rj_, f in totals
    ]


def snapshot(
    settings: Settings,
    engine: Engine,
    md: MetaData,
    run_id: str,
    mode: str,
    started_at: str,
    status: str = "complete",
) -> Path:
    """Write the run's figures next to its other artifacts; returns the path. Only
    ``complete`` runs are compared (a failed one's partial figures would look like
    convergence); the file is replaced whole, never left half-written."""
    folder = settings.artifacts / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {"run_id": run_id, "mode": mode, "started_at": started_at}
    doc["status"] = status
    resumed = attempt_starts(settings, run_id)
    doc["entities"] = [asdict(t) for t in entity_timings(engine, md, run_id, resumed)]
    doc["partitions"] = [asdict(p) for p in partition_timings(engine, md, run_id)]
    doc["outcomes"] = [asdict(o) for o in entity_outcomes(engine, md, run_id)]
    path = folder / f"{run_id}.json"
    part = path.with_suffix(".json.part")
    part.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    os.replace(part, path)
    return path


def snapshots(settings: Settings, mode: str, last: int) -> list[dict[str, Any]]:
    """The last ``last`` snapshots of complete runs of ``mode``, oldest first (a file that
    cannot be read is skipped with a warning)."""
    if last < 1:
        raise ValueError(f"--last must be at least 1, got {last}")
    docs = []
    for p in sorted((settings.artifacts / FOLDER).glob("*.json")):
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            log.warning("%s: not a run snapshot, skipped (%s)", p.name, type(exc).__name__)
            continue
        if not isinstance(doc, dict) or not {"run_id", "mode", "started_at"} <= doc.keys():
            log.warning("%s: not a run snapshot, skipped", p.name)
            continue
        if doc["mode"] == mode and doc.get("status", "complete") == "complete":
            docs.append(doc)
    return sorted(docs, key=lambda d: str(d["started_at"]))[-last:]


def runs_to_compare(text: str) -> int:
    """``--last N`` on the command line: a whole number of runs, at least one."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run_order(docs: list[dict[str, Any]]) -> list[str]:
    """The run ids of the snapshots, oldest first: the column order of every table."""
    return [str(d["run_id"]) for d in docs]


def compare(docs: list[dict[str, Any]]) -> dict[str, list[EntityTiming]]:
    """Timings per entity over the snapshots, oldest first."""
    out: dict[str, list[EntityTiming]] = {}
    for doc in docs:
        for t in doc["entities"]:
            out.setdefault(t["entity"], []).append(EntityTiming(**t))
    return out


def compare_partitions(docs: list[dict[str, Any]]) -> dict[tuple[str, int], list[PartitionTiming]]:
    """Timings per (entity, partition) over the snapshots, oldest first."""
    out: dict[tuple[str, int], list[PartitionTiming]] = {}
    for doc in docs:
        for p in doc.get("partitions", []):
            out.setdefault((p["entity"], p["partition"]), []).append(PartitionTiming(**p))
    return out


def compare_outcomes(docs: list[dict[str, Any]]) -> dict[str, list[EntityOutcome]]:
    """Outcomes per entity over the snapshots, oldest first (snapshots written before
    outcomes were recorded have none)."""
    out: dict[str, list[EntityOutcome]] = {}
    for doc in docs:
        for o in doc.get("outcomes", []):
            out.setdefault(o["entity"], []).append(EntityOutcome(**o))
    return out


def forecast_window(timings: dict[str, list[EntityTiming]], deps: dict[str, set[str]]) -> float:
    """Critical-path seconds: each entity starts when its slowest dependency has finished."""
    finish: dict[str, float] = {}

    def done(name: str) -> float:
        if name not in finish:
            before = max((done(d) for d in deps.get(name, ()) if d in timings), default=0.0)
            finish[name] = before + mean(t.seconds for t in timings[name])
        return finish[name]

    return max((done(n) for n in timings), default=0.0)


def _run_columns(runs: list[str]) -> str:
    return "".join(f"{r[:10]:>12}" for r in runs)


def _runs(order: list[str] | None, found: list[str]) -> list[str]:
    """Columns: the given order (oldest first) of the runs that appear, else as found."""
    seen = set(found)
    return [r for r in order if r in seen] if order else list(dict.fromkeys(found))


def format_report(
    timings: dict[str, list[EntityTiming]], window: float, order: list[str] | None = None
) -> str:
    """One line per entity: seconds per run, then the mean rate."""
    runs = _runs(order, [t.run_id for ts in timings.values() for t in ts])
    head = f"{'entity':<24}{'rows':>9}" + _run_columns(runs) + f"{'rows/s':>10}"
    lines = [head, "-" * len(head)]
    for entity, ts in sorted(timings.items()):
        by_run = {t.run_id: t for t in ts}
        cells = "".join(
            f"{by_run[r].seconds:>11.2f}s" if r in by_run else f"{'':>12}" for r in runs
        )
        rate = mean(t.rows_per_second for t in ts)
        lines.append(f"{entity:<24}{ts[-1].rows:>9,}{cells}{rate:>10,.0f}")
    lines.append(f"forecast window (critical path over dependencies): {window:,.1f}s")
    return "\n".join(lines)


def format_partitions(
    timings: dict[tuple[str, int], list[PartitionTiming]], order: list[str] | None = None
) -> str:
    """One line per partition of a split entity: seconds per run, then the mean rate."""
    if not timings:
        return ""
    runs = _runs(order, [t.run_id for ts in timings.values() for t in ts])
    head = f"{'partition':<28}{'rows':>9}" + _run_columns(runs)
    lines = [head + f"{'rows/s':>10}", "-" * (len(head) + 10)]
    for (entity, number), ts in sorted(timings.items()):
        by_run = {t.run_id: t for t in ts}
        cells = "".join(
            f"{by_run[r].seconds:>11.2f}s" if r in by_run else f"{'':>12}" for r in runs
        )
        rate = mean(t.rows_per_second for t in ts)
        label = f"{entity} [{number + 1}/{ts[-1].partitions}]"
        lines.append(f"{label:<28}{ts[-1].rows:>9,}{cells}{rate:>10,.0f}")
    return "\n".join(lines)


def _counts(by_run: dict[str, EntityOutcome], runs: list[str], count: Any) -> str:
    return "".join(f"{count(by_run[r]):>12,}" if r in by_run else f"{'':>12}" for r in runs)


def format_rejects(outcomes: dict[str, list[EntityOutcome]], order: list[str] | None = None) -> str:
    """Rejected rows per entity and per reason in each run: is the migration converging?"""
    if not outcomes:
        return ""
    runs = _runs(order, [o.run_id for ones in outcomes.values() for o in ones])
    head = f"{'rejected rows':<44}" + _run_columns(runs)
    lines = [head, "-" * len(head)]
    for entity, ones in sorted(outcomes.items()):
        by_run = {o.run_id: o for o in ones}
        lines.append(f"{entity:<44}" + _counts(by_run, runs, lambda o: o.rejected))
        for reason in sorted({reason for o in ones for reason in o.reasons}):
            label = f"  {reason}"
            cells = _counts(by_run, runs, lambda o, r=reason: o.reasons.get(r, 0))
            lines.append(f"{label:<44}" + cells)
    every = [o for ones in outcomes.values() for o in ones]
    total = "".join(f"{sum(o.rejected for o in every if o.run_id == r):>12,}" for r in runs)
    lines.append(f"{'all entities':<44}" + total)
    return "\n".join(lines)


def report(settings: Settings, deps: dict[str, set[str]], mode: str, last: int) -> str:
    """The comparison of the last ``last`` complete runs of ``mode``: time per entity and
    the forecast window, time per partition of split entities, rejects by reason."""
    docs = snapshots(settings, mode, last)
    if not docs:
        others = [
            m for m in ("rehearsal", "full", "delta") if m != mode and snapshots(settings, m, 1)
        ]
        hint = "".join(f"; {m} runs: --mode {m}" for m in others)
        return f"no complete {mode} run recorded yet under {settings.artifacts / FOLDER}{hint}"
    order = run_order(docs)
    timings = compare(docs)
    window = forecast_window(timings, deps)
    parts = [f"{len(docs)} {mode} run(s), oldest first", format_report(timings, window, order)]
    parts.append(format_partitions(compare_partitions(docs), order))
    parts.append(format_rejects(compare_outcomes(docs), order))
    return "\n\n".join(p for p in parts if p)
