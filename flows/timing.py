"""Cutover timing over rehearsals, from the flow: its snapshot task and ``python -m flows.timing``.

The figures and their comparison live in :mod:`migrate.runs.history` (``migrate rehearsals``
prints the same report); this module keeps the flow's entry points. Run it as
``python -m flows.timing --workdir DIR [--mode rehearsal] [--last 5]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from flows import steps
from flows.plan import load_project
from migrate.runs import history
from migrate.runs.history import PartitionTiming, format_partitions
from migrate.spec.graph import dependencies

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def snapshot(workdir: str, run_id: str, mode: str, config: str | None = None) -> str:
    """Write the run's figures next to its other artifacts; returns the path."""
    settings = steps.settings_for(workdir, config)
    info = steps.run_info(workdir, run_id, config)
    started = info.started_at.isoformat()
    with steps.staging(settings, mode) as (engine, md):
        return str(history.snapshot(settings, engine, md, run_id, mode, started, info.status))


def compare_partitions(
    workdir: str, mode: str = "rehearsal", last: int = 5
) -> dict[tuple[str, int], list[PartitionTiming]]:
    """Timings per (entity, partition) over the last snapshotted runs, oldest first."""
    return history.compare_partitions(history.snapshots(steps.settings_for(workdir), mode, last))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m flows.timing", description=__doc__.splitlines()[0])
    p.add_argument("--workdir", default=".")
    p.add_argument("--mappings", default=str(MAPPINGS))
    p.add_argument("--mode", default="rehearsal", choices=("rehearsal", "full", "delta"))
    p.add_argument(
        "--last", type=history.runs_to_compare, default=5, help="how many runs to compare"
    )
    args = p.parse_args(argv)
    deps = dependencies(load_project(Path(args.mappings)))
    print(history.report(steps.settings_for(args.workdir), deps, args.mode, args.last))
    return 0


__all__ = ["compare_partitions", "format_partitions", "main", "snapshot"]

if __name__ == "__main__":
    raise SystemExit(main())
