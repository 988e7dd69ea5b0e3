"""Which source row each reject and each filtered row stands for, and so its amount.

Rejected and filtered rows are recorded in staging by legacy key only; their amounts are
read back from the source (batched ``IN`` lists on the key string), never from the
pipeline. A key can occur several times in the source (an exact duplicate row: one copy is
staged, the other rejected as ``duplicate_key``), so each occurrence takes one copy. When the
copies differ, the copy equal to the staged row is left for the staged side (staged values
are used only to choose the copy; every amount still comes from the source).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from reconcile.reading.rows import Row, RowSource


@dataclass(frozen=True)
class Attribution:
    rejected: tuple[Row, ...]
    filtered: tuple[tuple[str, Row], ...]  # (rule, row)
    unknown: tuple[str, ...]  # keys recorded as rejected/filtered but absent from the source
    reasons: tuple[str, ...] = ()  # the reject reason of each row of ``rejected``

    @property
    def excluded(self) -> list[Row]:
        return [*self.rejected, *(r for _, r in self.filtered)]


def attribute(
    source: RowSource,
    staged: RowSource,
    rejected: tuple[str, ...],
    filtered: tuple[tuple[str, str], ...],
    reasons: tuple[str, ...] = (),
) -> Attribution:
    """``reasons``: the reject reason of each key of ``rejected`` (same order)."""
    occurrences = [("", k) for k in rejected] + list(filtered)
    why = iter(reasons or ("",) * len(rejected))
    if not occurrences:
        return Attribution((), (), ())
    copies: dict[str, list[Row]] = defaultdict(list)
    for row in source.rows_for_keys({k for _, k in occurrences}):
        copies[row.key].append(row)
    for rows in copies.values():
        rows.sort(key=Row.row_text)
    _reserve_staged_copies(copies, staged)
    out_rej: list[Row] = []
    out_why: list[str] = []
    out_fil: list[tuple[str, Row]] = []
    unknown: list[str] = []
    for rule, key in occurrences:
        reason = "" if rule else next(why, "")
        pool = copies.get(key)
        if not pool:
            unknown.append(key)
            continue
        row = pool.pop() if len(pool) > 1 or not _all_same(pool) else pool[0]
        if rule:
            out_fil.append((rule, row))
        else:
            out_rej.append(row)
            out_why.append(reason)
    return Attribution(tuple(out_rej), tuple(out_fil), tuple(unknown), tuple(out_why))


def _all_same(rows: list[Row]) -> bool:
    return all(r.same_content(rows[0]) and r.extras == rows[0].extras for r in rows)


def _reserve_staged_copies(copies: dict[str, list[Row]], staged: RowSource) -> None:
    """For keys with differing copies, set aside the copy equal to the staged row."""
    mixed = [k for k, rows in copies.items() if len(rows) > 1 and not _all_same(rows)]
    if not mixed:
        return
    for row in staged.rows_for_keys(mixed):
        pool = copies[row.key]
        match = next((i for i, r in enumerate(pool) if r.same_content(row)), None)
        if match is not None:
            pool.pop(match)
