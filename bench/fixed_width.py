"""Rows per second of the fixed-width readers on N records of the estate's mainframe layout.

    .venv/bin/python bench/fixed_width.py --records 1000000 [--chunk 50000] [--records-kind rdw]

Writes an EBCDIC (cp037) file of the PAYYTD copybook's records (one in a thousand made
unreadable: a bad overpunch), then times the pipeline's reader (``migrate.extract.files.fixed``,
numpy over whole chunks) and reconciliation's (``reconcile.reading.fixed_records``, one record at a
time), and prints records/s and peak RSS. Figures, not a timed test.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fixtures.estate.gen_mainframe import (  # noqa: E402
    COPYBOOK,
    ENCODING,
    RECORD_LENGTH,
    packed,
    zoned,
)
from migrate.extract.files.fixed import fixed_frames  # noqa: E402
from migrate.spec.flatfile import FlatFile  # noqa: E402
from reconcile.reading.fixed_records import fixed_records  # noqa: E402


def write(path: Path, n: int, kind: str) -> None:
    head = "DOE,JANE Q".ljust(30) + "ACCOUNTANT II".ljust(30) + "A29045" + "19870301" + "  "
    middle = head.encode(ENCODING)
    with path.open("wb") as fh:
        for i in range(n):
            record = f"M{i:07d}1998".encode(ENCODING) + middle
            record += packed(5_000_000 + i % 7_000_000, 5)
            gross = zoned((i * 7919) % 900_000_000 - 1_000_000, 9)
            if i % 1000 == 999:
                gross = gross[:-1] + b"\x4a"  # a bad overpunch
            record += gross
            assert len(record) == RECORD_LENGTH
            if kind == "rdw":
                fh.write((len(record) + 4).to_bytes(2, "big") + b"\0\0")
            fh.write(record)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--chunk", type=int, default=50_000)
    parser.add_argument("--records-kind", choices=("rdw", "fixed"), default="rdw")
    parser.add_argument("--skip-reconcile", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "payytd.cpy").write_text(COPYBOOK)
        data = folder / "payytd.dat"
        started = time.perf_counter()
        write(data, args.records, args.records_kind)
        print(
            f"wrote {args.records:,} records ({data.stat().st_size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - started:.1f} s"
        )
        fixed = {"copybook": "payytd.cpy", "records": args.records_kind}
        if args.records_kind == "fixed":
            fixed["record_length"] = RECORD_LENGTH
        f = FlatFile.model_validate({"path": str(data), "encoding": ENCODING, "fixed": fixed})
        started = time.perf_counter()
        rows = marked = 0
        for frame in fixed_frames(f, data, args.chunk, folder):
            rows += len(frame)
            marked += int(frame["_read_reason"].notna().sum())
        took = time.perf_counter() - started
        print(
            f"pipeline fixed_frames: {rows:,} records ({marked:,} unreadable) in {took:.2f} s "
            f"= {rows / took:,.0f} records/s"
        )
        if not args.skip_reconcile:
            started = time.perf_counter()
            count = sum(1 for _ in fixed_records(f, data, folder))
            took = time.perf_counter() - started
            print(
                f"reconcile fixed_records: {count:,} records in {took:.2f} s "
                f"= {count / took:,.0f} records/s"
            )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:,.0f} MiB")


if __name__ == "__main__":
    main()
