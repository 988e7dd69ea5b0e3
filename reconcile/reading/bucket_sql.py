"""Bucket SQL (rows of picked buckets, bucket sums): text both scans and SQLite's kept rows use."""

from __future__ import annotations

from reconcile.reading.rows import Picks, Within

_PICKED_MAX = 100_000  # bucket numbers in one IN list before picks are tested one by one


def within_sql(within: Within, h: str) -> str:
    """Rows whose key hash ``h`` (SQL) falls in the buckets of ``within``."""
    if within is None:
        return "1 = 1"
    shift, buckets = within
    if not buckets:
        return "1 = 0"
    listed = ", ".join(str(int(b)) for b in sorted(buckets))
    return f"({h} >> {int(shift)}) IN ({listed})"


def picks_sql(picks: Picks, h: str) -> str:
    """Rows in any of the picked buckets, as one test of the finest shift picked (a coarser
    bucket becomes the run of finer buckets it holds), so the key hash is computed once."""
    if not picks:
        return "1 = 0"
    finest = min(shift for shift, _ in picks)
    if sum(len(b) << (s - finest) for s, b in picks) > _PICKED_MAX:
        return " OR ".join(within_sql(p, h) for p in picks)
    buckets: set[int] = set()
    for shift, picked in picks:
        span = 1 << (shift - finest)
        for b in picked:
            buckets.update(range(b * span, (b + 1) * span))
    return within_sql((finest, frozenset(buckets)), h)


def bucket_sums_sql(sb: str) -> str:
    """A bucket's sums over rows with checksum ``rh`` and sub-bucket ``sb``: the checksum,
    ``W``, ``T`` and ``U`` (:func:`~reconcile.reading.rows.row_stats`; the count is written beside
    them). Each product stays below 2^24, so PostgreSQL sums INTEGERs into a BIGINT."""
    w, s = "((rh & 65535) + 1)", f"({sb} + 1)"
    return f"SUM(rh), SUM{w}, SUM({w} * {s}), SUM({w} * {s} * {s})"
