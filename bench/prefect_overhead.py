"""Prefect's overhead on a cutover, as a share of the run's time (prints figures, not a test).

The same estate is migrated several ways, each into its own staging: plain ``run_migration``
(no Prefect), the cutover flow with one thread (like for like: the difference is Prefect's
bookkeeping), with four threads (entities side by side), on a local Dask cluster (two worker
processes; the cluster's start is inside the flow's time and also timed apart), and on Dask
with two key-range partitions per splittable entity. Reconciliation is left out (the same
call with or without Prefect; ``reconcile=False``). The flows run against a Prefect server
started here first (SQLite-backed, or PostgreSQL-backed with ``--prefect-db``); its start-up
is reported apart, as a real cutover talks to a server that is already running. The estate is
kept in ``--workdir`` and reused when the scale matches. ``--repeat`` runs the whole sequence
again (plain included), to see the noise of a shared machine; the table uses the fastest run
of each variant.

    python bench/prefect_overhead.py --scale 50000     # --scale is AP invoice lines
    python bench/prefect_overhead.py --scale 1300000 --workdir /tmp/bench \
        --prefect-db postgresql+asyncpg://postgres@127.0.0.1:5432/prefect_bench
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
MAPPINGS = ROOT / "mappings"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def copy_estate(estate: Path, folder: Path) -> Path:
    folder.mkdir(parents=True)
    for db in estate.glob("legacy_*.db"):
        shutil.copy(db, folder / db.name)
    shutil.copytree(estate / "extracts", folder / "extracts")
    return folder


def plain(work: Path, chunk: int) -> int:
    from migrate.config import load_settings
    from migrate.runs.runner import run_migration

    summary = run_migration(load_settings(work), MAPPINGS, "full", chunk_size=chunk)
    CORE.append(sum(e.seconds for e in summary.entities))
    return summary.totals["rows_in"]


def flow(work: Path, chunk: int, **kw: Any) -> tuple[dict[str, Any], Any]:
    """The cutover's summary and its flow run id."""
    from flows.cutover import cutover

    params = {"mode": "full", "reconcile": False, "workdir": str(work), "chunk_size": chunk}
    state = cutover(mappings=str(MAPPINGS), **params, **kw, return_state=True)
    return state.result(), state.state_details.flow_run_id


def busy_seconds(flow_run_id: Any) -> float:
    """Seconds during which at least one task body of the cutover (or its load subflow) ran,
    from the task runs' start and end times in the API: the flow's wall time less this is
    time spent between tasks (Prefect's own, or a task waiting its turn)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    time.sleep(5)  # task runs are recorded from events, a moment after they end
    with get_client(sync_client=True) as client:
        parent = FlowRunFilterParentFlowRunId(any_=[flow_run_id])
        subflows = client.read_flow_runs(flow_run_filter=FlowRunFilter(parent_flow_run_id=parent))
        ids = [flow_run_id, *(f.id for f in subflows)]
        flt = TaskRunFilter(flow_run_id=TaskRunFilterFlowRunId(any_=ids))
        runs = client.read_task_runs(task_run_filter=flt, limit=200)
    spans = sorted(
        (r.start_time, r.end_time)
        for r in runs
        if r.start_time and r.end_time and not r.name.startswith("load-entities")
    )
    busy, end = 0.0, None
    for start, stop in spans:
        if end is None or start > end:
            busy += (stop - start).total_seconds()
            end = stop
        elif stop > end:
            busy += (stop - end).total_seconds()
            end = stop
    return busy


class RetryCounter(logging.Filter):
    """Counts the Prefect client's retries after a retryable answer (a 503 from a locked
    SQLite-backed server): each costs a back-off of about 2 s, then 4 s. Debug records are
    counted, then dropped (so nothing new is printed)."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.INFO:
            return True
        if "Another attempt will be made" in record.getMessage():
            self.count += 1
        return False


def start_server(database: str | None) -> tuple[float, Any]:
    """A local Prefect server for this process (what `prefect server start` gives you)."""
    if database:
        os.environ["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    seconds, _ = timed(lambda: server.start(timeout=180))  # a loaded machine starts slowly
    ctx = temporary_settings(updates={PREFECT_API_URL: server.api_url})
    ctx.__enter__()
    os.environ["PREFECT_API_URL"] = server.api_url  # Dask workers (other processes) too
    return seconds, server


def dask_cluster_start(workers: int) -> float:
    """Start and stop the local Dask cluster the Dask variants start inside their flow."""
    from flows.load import task_runner

    runner = task_runner("local", workers)
    t0 = time.perf_counter()
    with runner:
        getattr(runner, "client")  # noqa: B009 (the cluster starts on first use)
    return time.perf_counter() - t0


VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "t1": ("cutover flow, 1 thread", {"threads": 1}),
    "t4": ("cutover flow, 4 threads", {"threads": 4}),
    "dask": ("cutover flow, Dask 2 processes", {"dask": "local"}),
    "dask-p2": ("... Dask, 2 partitions", {"dask": "local", "partitions": 2}),
}


def ensure_estate(base: Path, scale: int) -> Path:
    from fixtures.estate.build import build_estate, default_urls

    estate = base / "estate"
    stamp = estate / "built.json"
    if stamp.exists() and json.loads(stamp.read_text())["scale"] == scale:
        print(f"estate (scale {scale:,}) reused from {estate}")
        return estate
    estate.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    urls = default_urls(estate)
    secs, _ = timed(lambda: build_estate(urls, estate / "extracts", scale))
    stamp.write_text(json.dumps({"scale": scale}))
    print(f"estate (scale {scale:,}) built in {secs:.1f}s under {base}")
    return estate


def measure(name: str, estate: Path, base: Path, chunk: int, retries: RetryCounter) -> str:
    """Run one variant on a fresh copy of the estate; a line with seconds and retries."""
    work = base / f"run_{name}"
    shutil.rmtree(work, ignore_errors=True)
    copy_estate(estate, work)
    before, idle = retries.count, 0.0
    if name == "plain":
        secs, rows = timed(lambda: plain(work, chunk))
        TIMES.setdefault(name, []).append(secs)
        ROWS.append(rows)
    else:
        secs, (out, flow_run_id) = timed(lambda: flow(work, chunk, **VARIANTS[name][1]))
        assert out["status"] == "complete", out
        TIMES.setdefault(name, []).append(secs)
        parts = [p for e in out["entities"].values() for p in e["partitions"]]
        CORE.append(sum(float(p["seconds"]) for p in parts))
        idle = secs - busy_seconds(flow_run_id)
    shutil.rmtree(work, ignore_errors=True)
    line = f"  {name:<8}{secs:>8.1f}s  entities (sum of their own seconds) {CORE[-1]:.1f}s;"
    line += f" API retries after a 503: {retries.count - before}"
    return line if name == "plain" else f"{line}; no task body running: {idle:.1f}s"


TIMES: dict[str, list[float]] = {}
ROWS: list[int] = []
CORE: list[float] = []  # per run, the entities' own seconds (summed)


def table(order: list[str]) -> None:
    base_s = min(TIMES["plain"])
    print(f"\nrows migrated: {ROWS[-1]:,} (fastest of {len(TIMES['plain'])} run(s) per variant)")
    print(f"{'variant':<34}{'seconds':>9}{'vs plain':>10}{'overhead':>10}")
    label = "plain run_migration"
    print(f"{label:<34}{base_s:>9.1f}{'':>10}{'':>10}  {ROWS[-1] / base_s:,.0f} rows/s")
    for name in order:
        if name == "plain":
            continue
        secs = min(TIMES[name])
        share = (secs - base_s) / secs if secs else 0.0
        label = VARIANTS[name][0]
        print(f"{label:<34}{secs:>9.1f}{secs / base_s:>9.2f}x{100 * share:>9.1f}%")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=int, default=1_000_000, help="AP invoice lines")
    p.add_argument("--chunk-size", type=int, default=50_000)
    p.add_argument("--workdir", help="keep the estate here, reused on a re-run (default: temp)")
    p.add_argument("--variants", default="plain,t1,t4,dask,dask-p2", help="comma-separated")
    p.add_argument("--no-dask", action="store_true", help="leave out the Dask variants")
    p.add_argument("--repeat", type=int, default=1, help="run the whole sequence this often")
    p.add_argument("--prefect-db", help="the server's database URL (default: its SQLite file)")
    args = p.parse_args()
    order = ["plain", *(v for v in args.variants.split(",") if v != "plain")]
    if args.no_dask:
        order = [v for v in order if not v.startswith("dask")]
    unknown = set(order) - {"plain", *VARIANTS}
    if unknown:
        p.error(f"unknown variant(s) {sorted(unknown)} (plain, {', '.join(VARIANTS)})")
    base = Path(args.workdir or tempfile.mkdtemp(prefix="prefect_bench_"))
    os.environ.setdefault("PREFECT_HOME", str(base / "prefect_home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for name in ("FINANCE", "HR", "PROCUREMENT", "STAGING"):
        os.environ.pop(f"MIGRATE_{name}_URL", None)
    estate = ensure_estate(base, args.scale)
    server_s, _server = start_server(args.prefect_db)
    kind = "PostgreSQL" if args.prefect_db else "SQLite"
    print(f"Prefect server ({kind}-backed) start (reported apart): {server_s:.1f}s")
    if any(v.startswith("dask") for v in order):
        print(f"local Dask cluster start+stop (inside the Dask runs): {dask_cluster_start(2):.1f}s")
    retries = RetryCounter()
    client_log = logging.getLogger("prefect.client")
    client_log.addFilter(retries)
    client_log.setLevel(logging.DEBUG)
    for round_no in range(args.repeat):
        print(f"round {round_no + 1} of {args.repeat}", flush=True)
        for name in order:
            print(measure(name, estate, base, args.chunk_size, retries), flush=True)
    table(order)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
