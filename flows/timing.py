"""Cutover timing per entity (seconds, rows/s) from MIG_PROGRESS, compared over rehearsals.

Rolling a rehearsal back deletes its MIG_PROGRESS rows, so the cutover flow snapshots each
run's timings into ``artifacts/timing/<run>.json`` (:func:`snapshot`); comparisons read those.
The window of the real cutover is forecast from the rehearsals: each entity's mean rate
applied to its row count, then the longest dependency path (entities of one wave run side by
side, so the window is the critical path, not the sum). Run it as
``python -m flows.timing --workdir DIR [--mode rehearsal] [--last 5]``.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from sqlalchemy import Engine, MetaData, select

from flows import steps
from migrate.spec.graph import dependencies
from migrate.spec.loader import load_project

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


@dataclass(frozen=True)
class EntityTiming:
    """One entity in one run: wall seconds from its first chunk's start to its last commit."""

    run_id: str
    entity: str
    batches: int
    rows: int
    seconds: float
    chunk_seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


def entity_timings(engine: Engine, md: MetaData, run_id: str) -> list[EntityTiming]:
    """Per entity of the run, in the order the entities finished."""
    p = md.tables[f"{md.schema}.MIG_PROGRESS" if md.schema else "MIG_PROGRESS"]
    with engine.connect() as conn:
        rows = conn.execute(
            select(p.c.ENTITY, p.c.BATCH_ID, p.c.ROWS_IN, p.c.SECONDS, p.c.DONE_AT)
            .where(p.c.RUN_ID == run_id)
            .order_by(p.c.DONE_AT)
        ).all()
    chunks: dict[str, list[tuple[int, float, object]]] = {}
    for entity, _batch, rows_in, secs, done in rows:
        chunks.setdefault(entity, []).append((int(rows_in), float(secs or 0), done))
    out = []
    for entity, parts in chunks.items():
        first, last = parts[0], parts[-1]
        wall = (last[2] - first[2]).total_seconds() + first[1]  # type: ignore[operator]
        total = sum(r for r, _, _ in parts)
        out.append(
            EntityTiming(run_id, entity, len(parts), total, wall, sum(s for _, s, _ in parts))
        )
    return out


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


def partition_timings(engine: Engine, md: MetaData, run_id: str) -> list[PartitionTiming]:
    """Finished partitions of split entities, by entity then partition number."""
    t = md.tables[f"{md.schema}.MIG_PARTITIONS" if md.schema else "MIG_PARTITIONS"]
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


def forecast_window(timings: dict[str, list[EntityTiming]], deps: dict[str, set[str]]) -> float:
    """Critical-path seconds: each entity starts when its slowest dependency has finished."""
    finish: dict[str, float] = {}

    def done(name: str) -> float:
        if name not in finish:
            before = max((done(d) for d in deps.get(name, ()) if d in timings), default=0.0)
            finish[name] = before + mean(t.seconds for t in timings[name])
        return finish[name]

    return max((done(n) for n in timings), default=0.0)


def snapshot(workdir: str, run_id: str, mode: str, config: str | None = None) -> str:
    """Write the run's per-entity timings next to its other artifacts; returns the path."""
    settings = steps.settings_for(workdir, config)
    with steps.staging(settings, mode) as (engine, md):
        timings = entity_timings(engine, md, run_id)
        parts = partition_timings(engine, md, run_id)
    info = steps.run_info(workdir, run_id, config)
    folder = settings.artifacts / "timing"
    folder.mkdir(exist_ok=True)
    path = folder / f"{run_id}.json"
    doc: dict[str, Any] = {"run_id": run_id, "mode": mode}
    doc["started_at"] = info.started_at.isoformat()
    doc["entities"] = [asdict(t) for t in timings]
    doc["partitions"] = [asdict(p) for p in parts]
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return str(path)


def _snapshots(workdir: str, mode: str, last: int) -> list[dict[str, Any]]:
    folder = steps.settings_for(workdir).artifacts / "timing"
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in folder.glob("*.json")]
    return sorted((d for d in docs if d["mode"] == mode), key=lambda d: d["started_at"])[-last:]


def compare(workdir: str, mode: str = "rehearsal", last: int = 5) -> dict[str, list[EntityTiming]]:
    """Timings per entity over the last snapshotted runs of a mode, oldest first."""
    out: dict[str, list[EntityTiming]] = {}
    for doc in _snapshots(workdir, mode, last):
        for t in doc["entities"]:
            out.setdefault(t["entity"], []).append(EntityTiming(**t))
    return out


def compare_partitions(
    workdir: str, mode: str = "rehearsal", last: int = 5
) -> dict[tuple[str, int], list[PartitionTiming]]:
    """Timings per (entity, partition) over the last snapshotted runs, oldest first."""
    out: dict[tuple[str, int], list[PartitionTiming]] = {}
    for doc in _snapshots(workdir, mode, last):
        for p in doc.get("partitions", []):
            out.setdefault((p["entity"], p["partition"]), []).append(PartitionTiming(**p))
    return out


def format_partitions(timings: dict[tuple[str, int], list[PartitionTiming]]) -> str:
    """One line per partition of a split entity: seconds per run, then the mean rate."""
    if not timings:
        return ""
    runs = list(dict.fromkeys(t.run_id for ts in timings.values() for t in ts))
    head = f"{'partition':<28}{'rows':>9}" + "".join(f"{r[:10]:>12}" for r in runs)
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


def format_report(timings: dict[str, list[EntityTiming]], window: float) -> str:
    """One line per entity: seconds per run, then the mean rate."""
    runs = list(dict.fromkeys(t.run_id for ts in timings.values() for t in ts))
    head = f"{'entity':<24}{'rows':>9}" + "".join(f"{r[:10]:>12}" for r in runs) + f"{'rows/s':>10}"
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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.timing", description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default=".")
    p.add_argument("--mappings", default=str(MAPPINGS))
    p.add_argument("--mode", default="rehearsal", choices=("rehearsal", "full", "delta"))
    p.add_argument("--last", type=int, default=5, help="how many runs to compare")
    args = p.parse_args(argv)
    timings = compare(args.workdir, args.mode, args.last)
    deps = dependencies(load_project(Path(args.mappings)))
    print(format_report(timings, forecast_window(timings, deps)))
    parts = format_partitions(compare_partitions(args.workdir, args.mode, args.last))
    if parts:
        print("\n" + parts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
