"""Prefect's overhead on a cutover, as a share of the run's time (prints figures, not a test).

The same estate is migrated four ways, each into its own staging: plain ``run_migration``
(no Prefect), the cutover flow with one thread (like for like: the difference is Prefect's
bookkeeping), with four threads (entities of a wave side by side), and on a local Dask
cluster (two worker processes; cluster start included). Reconciliation is left out (the
same call with or without Prefect; ``reconcile=False``). The flows run against a Prefect
server started here first; its start-up is reported apart, as a real cutover talks to a
server that is already running.

    python bench/prefect_overhead.py --scale 50000     # --scale is AP invoice lines
"""

from __future__ import annotations

import argparse
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
    from migrate.runner import run_migration

    summary = run_migration(load_settings(work), MAPPINGS, "full", chunk_size=chunk)
    return summary.totals["rows_in"]


def flow(work: Path, chunk: int, **kw: Any) -> dict[str, Any]:
    from flows.cutover import cutover

    params = {"mode": "full", "reconcile": False, "workdir": str(work), "chunk_size": chunk}
    result: dict[str, Any] = cutover(mappings=str(MAPPINGS), **params, **kw)
    return result


def start_server() -> tuple[float, Any]:
    """A local Prefect server for this process (what `prefect server start` gives you)."""
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, temporary_settings

    server = SubprocessASGIServer()
    seconds, _ = timed(server.start)
    ctx = temporary_settings(updates={PREFECT_API_URL: server.api_url})
    ctx.__enter__()
    return seconds, server


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scale", type=int, default=1_000_000, help="AP invoice lines")
    p.add_argument("--chunk-size", type=int, default=50_000)
    p.add_argument("--workdir", help="keep the estates here (default: a temp folder)")
    p.add_argument("--no-dask", action="store_true")
    args = p.parse_args()
    base = Path(args.workdir or tempfile.mkdtemp(prefix="prefect_bench_"))
    os.environ.setdefault("PREFECT_HOME", str(base / "prefect_home"))
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    for name in ("FINANCE", "HR", "PROCUREMENT", "STAGING"):
        os.environ.pop(f"MIGRATE_{name}_URL", None)
    from fixtures.estate.build import build_estate, default_urls

    estate = base / "estate"
    estate.mkdir(parents=True, exist_ok=True)
    secs, _ = timed(lambda: build_estate(default_urls(estate), estate / "extracts", args.scale))
    print(f"estate (scale {args.scale:,}) built in {secs:.1f}s under {base}")
    server_s, _server = start_server()
    print(f"Prefect server start (reported apart): {server_s:.1f}s")
    chunk = args.chunk_size
    base_s, rows = timed(lambda: plain(copy_estate(estate, base / "plain"), chunk))
    rows_s = rows / base_s if base_s else 0.0
    print(f"\nrows migrated: {rows:,}")
    print(f"{'variant':<34}{'seconds':>9}{'vs plain':>10}{'overhead':>10}")
    label = "plain run_migration"
    print(f"{label:<34}{base_s:>9.1f}{'':>10}{'':>10}  {rows_s:,.0f} rows/s")
    variants: list[tuple[str, dict[str, Any]]] = [
        ("cutover flow, 1 thread", {"threads": 1}),
        ("cutover flow, 4 threads", {"threads": 4}),
    ]
    if not args.no_dask:
        variants.append(("cutover flow, Dask 2 processes", {"dask": "local"}))
    for i, (label, kw) in enumerate(variants):
        secs, out = timed(
            lambda kw=kw, i=i: flow(copy_estate(estate, base / f"flow{i}"), chunk, **kw)
        )
        share = (secs - base_s) / secs if secs else 0.0
        print(f"{label:<34}{secs:>9.1f}{secs / base_s:>9.2f}x{100 * share:>9.1f}%")
        assert out["status"] == "complete", out
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
