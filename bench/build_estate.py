"""Benchmark: build the legacy estate in PostgreSQL and print how long it took.

    .venv/bin/python bench/build_estate.py --scale 5000000
    .venv/bin/python bench/build_estate.py --scale 1000000 --url postgresql://postgres@host/db

Without ``--url`` it creates a fresh database on 127.0.0.1:5432 and drops it afterwards
(unless ``--keep``). Prints seconds, rows/s per table and in total, and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from fixtures.estate.build import build_estate  # noqa: E402

ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def _fresh_database() -> str:
    """Create an empty database for the run; returns its URL."""
    name = f"estate_bench_{uuid.uuid4().hex[:8]}"
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return ADMIN.rsplit("/", 1)[0] + f"/{name}"


def _drop_database(url: str) -> None:
    """Drop the database the run created."""
    engine = create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)'))
    engine.dispose()


def main() -> int:
    """Build once, then print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=5_000_000, help="AP invoice lines")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--url", help="PostgreSQL URL (default: a fresh database)")
    parser.add_argument("--keep", action="store_true", help="keep the fresh database")
    args = parser.parse_args()
    url = args.url or _fresh_database()
    rows: dict[str, int] = defaultdict(int)
    busy: dict[str, float] = defaultdict(float)
    mark = [time.perf_counter()]

    def progress(table: str, n: int) -> None:
        now = time.perf_counter()
        rows[table] += n
        busy[table] += now - mark[0]
        mark[0] = now

    start = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            manifest = build_estate(
                {s: url for s in ("finance", "hr", "procurement")},
                Path(tmp) / "extracts",
                scale=args.scale,
                seed=args.seed,
                manifest_path=Path(tmp) / "manifest.json",
                progress=progress,
            )
    finally:
        if not args.url and not args.keep:
            _drop_database(url)
    elapsed = time.perf_counter() - start
    print(f"scale {args.scale:,} invoice lines, seed {args.seed}, {url.rsplit('/', 1)[1]}")
    print(f"{'table':<28}{'rows':>12}{'seconds':>10}{'rows/s':>12}")
    for table in sorted(rows, key=lambda t: -rows[t]):
        rate = rows[table] / busy[table] if busy[table] else 0.0
        print(f"{table:<28}{rows[table]:>12,}{busy[table]:>10.1f}{rate:>12,.0f}")
    total = sum(rows.values())
    print(f"{'total':<28}{total:>12,}{elapsed:>10.1f}{total / elapsed:>12,.0f}")
    print(f"manifest defects: {len(manifest.defects):,}")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
