"""Control totals by the grains declared in the mapping (e.g. fund x account x period).

Source values are trimmed and upper-cased; a ``source_crosswalk`` translates a legacy code
with the mapping's crosswalk CSV (a code missing from it becomes its own grain value
``UNMAPPED:<code>``, so it is visible rather than folded into another). Staging values are
trimmed and upper-cased too, and nested target columns are joined with the grain's ``join``.
A nested source item is composed the same way: each piece (a column's trimmed text through
its own steps, restated by ``restate.piece``, or a constant) normalised, then joined with
``join``, so ``2018`` and ``2`` with ``{zfill: 2}`` meet a staged ``2018-02``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from decimal import Decimal

from migrate.spec.model import EntitySpec, Grain
from migrate.spec.parts import Part, as_part
from reconcile.proving.restate_pieces import part_text, piece
from reconcile.proving.restate_steps import Context, Unreadable
from reconcile.reading.money import cents_to_decimal
from reconcile.reading.rows import GroupTotals, RowSource
from reconcile.report import GrainRow

BLANK = "(BLANK)"
Acc = dict[tuple[str, ...], list[Decimal]]
Amounts = tuple[tuple[object, ...], tuple[Decimal, ...]]  # (grain values, exact amount per measure)


def grain_rule(g: Grain, crosswalk_files: dict[str, str]) -> str:
    parts = []
    for item in g.pieces:
        if isinstance(item, list):
            pieces = ", ".join(f"UPPER({part_text(p)})" for p in item)
            parts.append(f"{g.join!r}.join({pieces})")
            continue
        name = g.source_crosswalk.get(item)
        parts.append(
            f"{item} via crosswalk {crosswalk_files.get(name or '', name)}"
            if name
            else f"UPPER(TRIM({item}))"
        )
    return f"grain {g.name}: " + ", ".join(parts)


def _norm(value: object) -> str:
    text = "" if value is None else str(value).strip().upper()
    return text or BLANK


def _translate(value: object, codes: dict[str, str], folded: dict[str, str]) -> str:
    """Exact code first, then case- and blank-insensitive; else ``UNMAPPED:<code>``."""
    raw = "" if value is None else str(value).strip()
    if not raw:
        return BLANK
    found = codes.get(raw, folded.get(raw.upper()))
    return _norm(found) if found is not None else f"UNMAPPED:{raw}"


class GrainTotals:
    """Builds the GrainRows of one entity from both sides and the excluded rows."""

    def __init__(
        self,
        spec: EntitySpec,
        crosswalks: dict[str, dict[str, str]],
        source_extras: tuple[str, ...],
        target_extras: tuple[str, ...],
    ) -> None:
        self.spec = spec
        self.crosswalks = crosswalks
        self.folded = {
            n: {k.strip().upper(): v for k, v in c.items()} for n, c in crosswalks.items()
        }
        self.source_extras = source_extras
        self.target_extras = target_extras
        self.names = [m.name for m in spec.reconcile.measures]

    def source_key(self, g: Grain, raw: tuple[object, ...]) -> tuple[str, ...]:
        """The grain's values from the legacy columns it reads (``raw``, in the order of
        ``g.source``); a nested item's pieces restated by reconciliation's own steps."""
        record = dict(zip(g.source, raw, strict=True))
        out = []
        for item in g.pieces:
            if isinstance(item, list):
                out.append(g.join.join(self._piece(as_part(p), record) for p in item))
                continue
            value = record[item]
            name = g.source_crosswalk.get(item)
            if name:
                out.append(_translate(value, self.crosswalks[name], self.folded[name]))
            else:
                out.append(_norm(value))
        return tuple(out)

    def _piece(self, part: Part, record: dict[str, object]) -> str:
        """One piece, normalised as a target column is (``(BLANK)`` when empty); a piece
        whose steps refuse the value is its own grain value ``UNREADABLE:<value>``."""
        try:
            return _norm(piece(part, Context(record, self.crosswalks)))
        except Unreadable:
            return f"UNREADABLE:{record.get(part.column or '')}"

    def target_key(self, g: Grain, values: dict[str, object]) -> tuple[str, ...]:
        out = []
        for t in g.target:
            cols = [t] if isinstance(t, str) else t
            out.append(g.join.join(_norm(values[c]) for c in cols))
        return tuple(out)

    def rows(
        self,
        g: Grain,
        source: RowSource,
        staged: RowSource,
        rejected: Iterable[Amounts],
        filtered: Iterable[Amounts],
        finer: Iterable[Amounts] = (),
    ) -> list[GrainRow]:
        """``rejected``/``filtered``: each excluded row's grain values with its exact amount
        per measure; ``finer``: the legacy amounts finer than a cent, which the source's
        cents totals leave out (``residue.py``), added to the source side."""
        src_idx = [self.source_extras.index(c) for c in g.source]
        flat = [c for t in g.target for c in ([t] if isinstance(t, str) else t)]
        tgt_idx = sorted({self.target_extras.index(c) for c in flat})
        src = self._fold(source.group_totals(src_idx), lambda r: self.source_key(g, r))
        tgt_cols = [self.target_extras[i] for i in tgt_idx]
        stg = self._fold(
            staged.group_totals(tgt_idx),
            lambda r: self.target_key(g, dict(zip(tgt_cols, r, strict=True))),
        )
        self._add(src, finer, g, src_idx)
        rej = self._add({}, rejected, g, src_idx)
        fil = self._add({}, filtered, g, src_idx)
        out = []
        zero = [Decimal(0)] * len(self.names)
        for key in sorted(set(src) | set(stg) | set(rej) | set(fil)):
            for name in g.measures:
                i = self.names.index(name)
                tol = Decimal(self.spec.reconcile.measures[i].tolerance)
                out.append(
                    GrainRow(
                        g.name,
                        key,
                        name,
                        src.get(key, zero)[i],
                        stg.get(key, zero)[i],
                        rej.get(key, zero)[i],
                        fil.get(key, zero)[i],
                        tol,
                    )
                )
        return out

    def _fold(
        self, groups: GroupTotals, keyfn: Callable[[tuple[object, ...]], tuple[str, ...]]
    ) -> Acc:
        acc: Acc = defaultdict(lambda: [Decimal(0)] * len(self.names))
        for raw, (_, sums) in groups.items():
            key = keyfn(raw)
            for i, s in enumerate(sums):
                acc[key][i] += cents_to_decimal(s)
        return dict(acc)

    def _add(self, acc: Acc, rows: Iterable[Amounts], g: Grain, idx: list[int]) -> Acc:
        for extras, amounts in rows:
            key = self.source_key(g, tuple(extras[i] for i in idx))
            sums = acc.setdefault(key, [Decimal(0)] * len(self.names))
            for i, v in enumerate(amounts):
                sums[i] += v
        return acc
