"""Checks that warn: rows loaded as they are, each flagged with a reason in ``MIG_WARNINGS``.

``flag`` tests a target column of each staged row (a money column compares amounts: ``0``
is 0.00); ``possible_duplicate`` flags a staged row whose columns all equal an earlier
staged row's of the same run and entity (in this chunk or an earlier one), so of n equal
rows n - 1 are flagged, whatever the chunking. They run on the rows about to be staged,
after every rejecting check, and are written in the chunk's transaction: a resumed chunk
never doubles them, a rolled-back run takes them with it.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pandas as pd
from sqlalchemy import Connection, Table, select

from migrate.errors import TerminalError
from migrate.lineage.masking import mask_value
from migrate.spec.checks import FLAG_BOUNDS, Flag, PossibleDuplicate
from migrate.spec.model import Condition, EntitySpec
from migrate.validate.coerce import target_kind


def warning_rows(
    conn: Connection,
    spec: EntitySpec,
    table: Table,
    staged: pd.DataFrame,
    run_id: str,
    batch_id: int,
) -> list[dict[str, object]]:
    """One ``MIG_WARNINGS`` row per (staged row, warning) of the chunk."""
    out: list[dict[str, object]] = []
    if staged.empty:
        return out
    personal = {n: r.personal for n, r in spec.fields.items() if r.personal}
    for check in spec.checks:
        if check.flag is not None:
            column, reason = check.flag.when.column, check.flag.reason
            mask = flagged(check.flag, staged, table, spec.entity)
        elif check.possible_duplicate is not None:
            pd_ = check.possible_duplicate
            column, reason = ",".join(pd_.columns), pd_.reason
            mask = duplicates(conn, pd_, staged, table, run_id, spec.entity)
        else:
            continue
        values = _shown(staged, column, table)
        for key, value in zip(staged.loc[mask, "MIG_SOURCE_KEY"], values[mask], strict=True):
            out.append(
                {
                    "RUN_ID": run_id,
                    "BATCH_ID": batch_id,
                    "ENTITY": spec.entity,
                    "SOURCE_SYSTEM": spec.source.system,
                    "SOURCE_KEY": key,
                    "COLUMN_NAME": column,
                    "REASON_CODE": reason,
                    "VALUE": mask_value(personal[column], value) if column in personal else value,
                }
            )
    return out


def _shown(staged: pd.DataFrame, column: str, table: Table) -> pd.Series:
    """The flagged value(s) as text (cents as ``12.50``), several joined by `` | ``."""
    cols = column.split(",")
    kinds = [target_kind(table.c[c]) for c in cols]
    shown = [
        " | ".join("" if pd.isna(v) else canonical(v, k) for v, k in zip(r, kinds, strict=True))
        for r in staged[cols].itertuples(index=False, name=None)
    ]
    return pd.Series(shown, index=staged.index, dtype="object")


def flagged(rule: Flag, staged: pd.DataFrame, table: Table, entity: str) -> pd.Series:
    """Rows whose target column meets the flag's condition (``negate``: a blank then holds)."""
    w = rule.when
    if w.column not in staged.columns:
        raise TerminalError(f"{entity}: flag {rule.reason}: no target column {w.column}")
    kind = target_kind(table.c[w.column])
    values = staged[w.column]
    present = values.notna()
    if kind == "text":
        present &= values.astype("str").str.strip() != ""
    if w.is_blank is not None:
        hit = ~present if w.is_blank else present
    elif any(getattr(w, b, None) is not None for b in FLAG_BOUNDS):
        hit = present & _compared(w, values, kind, entity, rule.reason)
    else:
        wanted = [w.equals] if w.in_ is None else list(w.in_)
        hit = present & _equal(values, wanted, kind, entity, rule.reason)
    return (~hit if w.negate else hit).astype(bool)


def _equal(
    values: pd.Series, wanted: list[object], kind: str, entity: str, reason: str
) -> pd.Series:
    if kind == "money":
        cents = {amount_cents(v, entity, reason) for v in wanted}
        return values.astype("Int64").isin(cents).fillna(False).astype(bool)
    if kind == "integer":
        return values.astype("Int64").isin({int(str(v)) for v in wanted}).fillna(False).astype(bool)
    if kind in ("date", "datetime"):
        stamps = {pd.Timestamp(str(v)) for v in wanted}
        return values.isin(stamps).fillna(False).astype(bool)
    texts = {str(v).strip().upper() for v in wanted}
    return values.astype("str").str.strip().str.upper().isin(texts)


def _compared(w: Condition, values: pd.Series, kind: str, entity: str, reason: str) -> pd.Series:
    """Every comparison given must hold; money compared in cents, integers as integers."""
    if kind not in ("money", "integer"):
        raise TerminalError(f"{entity}: flag {reason}: comparisons need a money or integer column")
    scale = 100 if kind == "money" else 1
    limits = bounds(w, scale, entity, reason)
    hits = [
        v is not None and not pd.isna(v) and within(int(v), limits) for v in values.astype("object")
    ]
    return pd.Series(hits, index=values.index, dtype=bool)


def within(number: int, limits: dict[str, tuple[Decimal | None, Decimal | None]]) -> bool:
    """Every comparison holds, exactly (integers against Decimals, no float)."""
    for name, (low, high) in limits.items():
        if low is not None and not (number > low if name == "greater_than" else number >= low):
            return False
        if high is not None and not (number < high if name == "less_than" else number <= high):
            return False
    return True


def bounds(
    w: Condition, scale: int, entity: str, reason: str
) -> dict[str, tuple[Decimal | None, Decimal | None]]:
    """The condition's comparisons as (low, high) in the column's units (cents for money)."""
    out: dict[str, tuple[Decimal | None, Decimal | None]] = {}
    for name in FLAG_BOUNDS:
        given = getattr(w, name, None)
        if given is None:
            continue
        if name == "between":
            out[name] = (_scaled(given[0], scale, reason), _scaled(given[1], scale, reason))
        elif name in ("greater_than", "at_least"):
            out[name] = (_scaled(given, scale, reason), None)
        else:
            out[name] = (None, _scaled(given, scale, reason))
    return out


def _scaled(value: object, scale: int, reason: str) -> Decimal:
    try:
        return Decimal(str(value)) * scale
    except InvalidOperation:
        raise TerminalError(f"flag {reason}: {value!r} is not a number") from None


def amount_cents(value: object, entity: str, reason: str) -> int:
    """A flag's amount (``0``, ``"12.50"``) in cents; more than two decimals is an error."""
    try:
        cents = Decimal(str(value).strip()) * 100
    except InvalidOperation:
        raise TerminalError(f"{entity}: flag {reason}: {value!r} is not an amount") from None
    if cents != cents.to_integral_value():
        raise TerminalError(f"{entity}: flag {reason}: {value!r} has more than two decimals")
    return int(cents)


def duplicates(
    conn: Connection,
    rule: PossibleDuplicate,
    staged: pd.DataFrame,
    table: Table,
    run_id: str,
    entity: str,
) -> pd.Series:
    """Rows equal (on every column, as canonical text) to an earlier row of the chunk or to a
    row the run already staged for the entity; rows with a blank column are never flagged."""
    cols = rule.columns
    missing = [c for c in cols if c not in staged.columns]
    if missing:
        raise TerminalError(f"{entity}: possible_duplicate: no target column {missing[0]}")
    complete = staged[cols].notna().all(axis=1)
    kinds = [target_kind(table.c[c]) for c in cols]
    rows = staged.loc[complete, cols]
    texts = pd.DataFrame(
        {c: [canonical(v, k) for v in rows[c]] for c, k in zip(cols, kinds, strict=True)},
        index=rows.index,
    )
    tuples = pd.Series(list(texts.itertuples(index=False, name=None)), index=texts.index)
    mask = pd.Series(False, index=staged.index)
    mask.loc[tuples.index] = tuples.duplicated(keep="first")
    earlier = _staged_tuples(conn, table, cols, kinds, rows, set(tuples), (run_id, entity))
    if earlier:
        mask.loc[tuples.index] |= tuples.isin(earlier)
    return mask


def canonical(value: object, kind: str) -> str:
    """A value as compared: cents as ``12.50``, dates ISO, integers plain, text as is."""
    if kind == "money":
        if isinstance(value, Decimal):
            return str(value.quantize(Decimal("0.01")))
        return str(Decimal(int(str(value))).scaleb(-2))
    if kind == "integer":
        return str(int(str(value)))
    if kind in ("date", "datetime"):
        stamp = pd.Timestamp(value)  # type: ignore[arg-type]
        return stamp.strftime("%Y-%m-%d" if kind == "date" else "%Y-%m-%d %H:%M:%S")
    return str(value)


def _param(value: object, kind: str) -> object:
    """A chunk value as the column's bind parameter."""
    if kind == "money":
        return Decimal(int(str(value))).scaleb(-2)
    if kind == "integer":
        return int(str(value))
    if kind == "date":
        return pd.Timestamp(value).date()  # type: ignore[arg-type]
    if kind == "datetime":
        return pd.Timestamp(value).to_pydatetime()  # type: ignore[arg-type]
    return str(value)


def _staged_tuples(
    conn: Connection,
    table: Table,
    cols: list[str],
    kinds: list[str],
    rows: pd.DataFrame,
    wanted: set[tuple[str, ...]],
    run_entity: tuple[str, str],
) -> set[tuple[str, ...]]:
    """The chunk's value tuples the run already staged for the entity."""
    if rows.empty:
        return set()
    firsts = list(dict.fromkeys(_param(v, kinds[0]) for v in rows[cols[0]]))
    seen: set[tuple[str, ...]] = set()
    for start in range(0, len(firsts), 1000):
        stmt = select(*(table.c[c] for c in cols)).where(
            table.c["MIG_RUN_ID"] == run_entity[0],
            table.c["MIG_ENTITY"] == run_entity[1],
            table.c[cols[0]].in_(firsts[start : start + 1000]),
        )
        for r in conn.execute(stmt):
            t = tuple(canonical(v, k) for v, k in zip(r, kinds, strict=True))
            if t in wanted:
                seen.add(t)
    return seen
