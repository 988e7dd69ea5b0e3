"""Where a differing bucket's sums point, and if pulled rows explain it: arithmetic, no database."""

from __future__ import annotations

from reconcile.reading.rows import HINT_BITS, BucketStats, Picks, Row, Stats, add_stats, row_stats

ZERO: Stats = (0, 0, 0, 0, 0)
SUBS = 1 << HINT_BITS
Hints = dict[int, tuple[int, ...]]  # bucket -> the sub-buckets its sums point at


def pointed(
    src: BucketStats, stg: BucketStats, differing: frozenset[int], shift: int
) -> dict[int, tuple[int, ...]]:
    """The sub-buckets (one or two) each differing bucket's sums point at, where they do.

    Per bucket ``W`` sums the rows' weights, ``T`` the weights times ``s`` and ``U`` times
    ``s * s``, where ``s`` is the row's sub-bucket + 1 (:func:`~reconcile.reading.rows.row_stats`).
    When the changes of a bucket lie in one sub-bucket ``a``, the differences satisfy
    ``dT = a dW`` and ``dU = a^2 dW``; in two, ``a`` and ``b``, they split ``dW`` in two
    non-zero whole parts with ``dT = a dW1 + b dW2`` and ``dU = a^2 dW1 + b^2 dW2``. Changes
    in more sub-buckets rarely fit either, and where they happen to, :func:`unexplained`
    catches it."""
    if shift < HINT_BITS:
        return {}
    out: dict[int, tuple[int, ...]] = {}
    for bucket in differing:
        _, _, dw, dt, du = delta(src, stg, bucket)
        if dw and dt % dw == 0 and 1 <= dt // dw <= SUBS and du == dt * (dt // dw):
            out[bucket] = (dt // dw - 1,)
            continue
        for a in range(1, SUBS + 1):
            for b in range(a + 1, SUBS + 1):
                dw1, rest = divmod(dt - b * dw, a - b)
                if not rest and dw1 and dw1 != dw and a * a * dw1 + b * b * (dw - dw1) == du:
                    out[bucket] = (a - 1, b - 1)
                    break
            else:
                continue
            break
    return out


def delta(src: BucketStats, stg: BucketStats, bucket: int) -> Stats:
    a, b = src.get(bucket, ZERO), stg.get(bucket, ZERO)
    return a[0] - b[0], a[1] - b[1], a[2] - b[2], a[3] - b[3], a[4] - b[4]


def rows_to_pull(src: BucketStats, stg: BucketStats, buckets: frozenset[int], hints: Hints) -> int:
    """Rows to pull per side (at most): a whole bucket, or about a sixteenth per sub-bucket
    pointed at."""
    total = 0
    for b in buckets:
        rows = max(src.get(b, ZERO)[0], stg.get(b, ZERO)[0])
        subs = hints.get(b)
        total += len(subs) * -(-rows >> HINT_BITS) if subs else rows
    return total


def fine_buckets(hints: Hints) -> frozenset[int]:
    return frozenset((b << HINT_BITS) | j for b, subs in hints.items() for j in subs)


def picks_of(shift: int, differing: frozenset[int], hints: Hints) -> Picks:
    whole = frozenset(b for b in differing if b not in hints)
    return tuple(p for p in ((shift, whole), (shift - HINT_BITS, fine_buckets(hints))) if p[1])


def unexplained(
    hints: Hints,
    src: BucketStats,
    stg: BucketStats,
    left: list[Row],
    right: list[Row],
    excluded: list[Row],
    shift: int,
) -> frozenset[int]:
    """Hinted buckets whose pulled sub-buckets do not account for the bucket's whole
    difference (count, checksum, ``W``, ``T``, ``U``): the rest of such a bucket may differ
    too. A bucket whose sub-buckets do account for it differs nowhere else, with the same
    guarantee as an equal bucket (the checksum's)."""
    if not hints:
        return frozenset()
    fine_shift = shift - HINT_BITS
    wanted = fine_buckets(hints)
    found: BucketStats = {}
    for rows, sign in ((left, 1), (excluded, -1), (right, -1)):
        for r in rows:
            if r.h >> fine_shift in wanted:
                add_stats(found, r.h >> shift, row_stats(r.h, r.rh, shift), sign)
    return frozenset(b for b in hints if found.get(b, ZERO) != delta(src, stg, b))
