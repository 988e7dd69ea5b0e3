"""What the restated-column check costs in a reconciliation (figures printed, not a test).

Usage (a working folder that holds a finished run, and its mappings)::

    .venv/bin/python bench/restated_cost.py --workdir demo --mappings mappings --repeat 3
    MIGRATE_REALDATA=../shared/realdata .venv/bin/python bench/restated_cost.py \\
        --workdir /tmp/baltimore --mappings mappings/realdata/baltimore

Reconciles the latest run ``--repeat`` times in this process and prints, per entity, the
best wall time of the whole entity and of ``check_columns`` (the restated columns and the
filtered rows, ``reconcile/proving/restated.py``), and the process CPU time of each round (robust to
other work on the machine). To compare two versions of the code, run it from each checkout
(``PYTHONPATH=<checkout>``) on the same working folder.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrate.config import load_settings
from migrate.spec.loader import load_project
from reconcile.proving import entity as entity_module
from reconcile.run import locate_run, reconcile_run


def main() -> None:
    args = _args()
    settings = load_settings(Path(args.workdir))
    project = load_project(Path(args.mappings))
    _, _, run_id = locate_run(settings, None)
    checks: dict[str, list[float]] = defaultdict(list)
    whole: dict[str, list[float]] = defaultdict(list)
    original = entity_module.check_columns

    def timed(spec: Any, *rest: Any, **kw: Any) -> Any:
        began = time.perf_counter()
        out = original(spec, *rest, **kw)
        out = type(out)(tuple(out.differences), out.compared, out.not_verified)  # consume
        checks[spec.entity].append(time.perf_counter() - began)
        return out

    entity_module.check_columns = timed  # type: ignore[assignment]
    cpu = []
    for _ in range(args.repeat):
        began = time.process_time()
        report = reconcile_run(settings, project, run_id, finished=_into(whole))
        cpu.append(time.process_time() - began)
    print(f"run {run_id}: verdict {report.verdict}; {args.repeat} round(s), best of each")
    print(f"{'entity':<24}{'rows':>9}{'entity s':>10}{'restated s':>12}  columns checked there")
    for e in report.entities:
        columns = sum(" vs " in c and "restated" in c for c in e.compared)
        print(
            f"{e.entity:<24}{e.source_rows:>9,}{min(whole[e.entity]):>10.2f}"
            f"{min(checks[e.entity]):>12.2f}  {columns}"
        )
    total = sum(min(v) for v in whole.values())
    restated = sum(min(v) for v in checks.values())
    print(f"{'total':<24}{'':>9}{total:>10.2f}{restated:>12.2f}")
    print("process CPU s per round: " + ", ".join(f"{c:.2f}" for c in cpu))


def _into(whole: dict[str, list[float]]) -> Callable[[Any, float], None]:
    def finished(e: Any, seconds: float) -> None:
        whole[e.entity].append(seconds)

    return finished


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workdir", required=True)
    p.add_argument("--mappings", required=True)
    p.add_argument("--repeat", type=int, default=3)
    return p.parse_args()


if __name__ == "__main__":
    main()
