"""Transform + validation throughput on AP invoice lines, beside the plain read of the same chunks.

    python bench/transform_bench.py --scale 1000000 [--chunk-size 50000]

Builds the estate in a temporary folder (SQLite), then streams APINVLIN twice: once only
reading the chunks, once reading + transforming + casting + Pandera-validating them with the
shipped mapping (crosswalk, money, lookups answered as found, as in a clean run).
Prints rows/s for each and the ratio.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from fixtures.estate.build import build_estate
from migrate.config import load_settings
from migrate.db import readonly_engine
from migrate.extract.database import read_database
from migrate.spec.loader import load_project
from migrate.staging.tables import build_metadata
from migrate.transform.engine import transform
from migrate.validate.coerce import coerce
from migrate.validate.schema import compile_schema, validate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scale", type=int, default=1_000_000)
    p.add_argument("--chunk-size", type=int, default=50_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        settings = load_settings(work)
        t0 = time.perf_counter()
        build_estate(
            {s: settings.url(s) for s in ("finance", "hr", "procurement")},
            work / "extracts",
            scale=args.scale,
            seed=1,
        )
        print(f"estate built in {time.perf_counter() - t0:.1f}s")
        project = load_project(MAPPINGS)
        spec = project.spec("ap_invoice_lines")
        table = build_metadata().tables[spec.target.table]
        schema = compile_schema(spec, table)
        crosswalks = {n: c.codes for n, c in project.crosswalks.items()}
        engine = readonly_engine(settings.url("finance"))

        def resolve(domain, system, legacy):  # type: ignore[no-untyped-def]
            import pandas as pd

            keys = pd.Series(range(1, len(legacy) + 1), index=legacy.index, dtype="Int64")
            found = legacy.isna()  # every reference resolves, as in a clean run
            return keys, found, found

        t0 = time.perf_counter()
        rows = sum(len(c.rows) for c in read_database(spec, engine, args.chunk_size))
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        for chunk in read_database(spec, engine, args.chunk_size):
            out = transform(spec, chunk.rows, crosswalks, resolve, spec.entity)
            frame = coerce(out.frame, table, out.failures, spec.cents_fields())
            validate(schema, frame, out.frame, out.failures)
            out.failures.to_frame()
        full_s = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"rows                         {rows:>12,}")
        print(f"plain read                   {rows / read_s:>12,.0f} rows/s  ({read_s:.1f}s)")
        print(f"read+transform+validate      {rows / full_s:>12,.0f} rows/s  ({full_s:.1f}s)")
        print(f"transform+validate alone     {rows / max(full_s - read_s, 1e-9):>12,.0f} rows/s")
        print(f"ratio to plain read          {read_s / full_s:>12.2f}")
        print(f"peak RSS                     {peak:>12,.0f} MiB")


if __name__ == "__main__":
    main()
