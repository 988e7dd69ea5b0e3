"""Apply one entity's field rules to a source chunk.

The engine is pure: given a chunk, the spec, the crosswalks and a key resolver, it returns
the target columns, the row failures and the rows each named filter dropped. It knows
nothing about databases; extract and load live elsewhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from migrate.spec.model import Condition, EntitySpec, Field_, Part
from migrate.spec.parts import as_part
from migrate.spec.steps import Step
from migrate.transform import numbers, parse
from migrate.transform.expr import computed
from migrate.transform.expr import parse as parse_expr
from migrate.transform.failures import READ_REASON, Failures, add_read_failures
from migrate.transform.steps import IMPLEMENTATIONS, StepContext

# (domain, system, legacy keys) -> (ERP keys, orphan mask, parent-rejected mask)
Resolver = Callable[[str, str, pd.Series], tuple[pd.Series, pd.Series, pd.Series]]


@dataclass
class TransformOutput:
    frame: pd.DataFrame
    failures: Failures
    filtered: dict[str, pd.Index] = field(default_factory=dict)
    source_keys: pd.Series = field(default_factory=lambda: pd.Series(dtype="str"))


# What a key part loses at both ends (``parse.SPACE``): a legacy key ending in a tab must be
# the same key to reconciliation, and to a lookup that references it without the tab.
KEY_SPACE = parse.SPACE


def _key_parts(frame: pd.DataFrame, columns: list[str]) -> list[pd.Series]:
    """Each key column as text without surrounding whitespace (:data:`KEY_SPACE`)."""
    return [parse.as_text(frame[c]).fillna("").str.strip(KEY_SPACE) for c in columns]


def _joined(parts: list[pd.Series]) -> pd.Series:
    out = parts[0]
    for p in parts[1:]:
        out = out + "|" + p
    return out.astype("str")


def key_string(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    """The legacy key as one string (``A|B``), as stored in lineage and rejects."""
    return _joined(_key_parts(frame, columns))


def blank_keys(spec: EntitySpec, rows: pd.DataFrame, failures: Failures) -> pd.Series:
    """The source key of each row; a row whose key is blank in every part is rejected
    (``required_missing``), and so is one whose issuing legacy key (``issues_keys.legacy``)
    is: such a row cannot be traced back to its legacy record, nor given an ERP key that
    another entity's lookup could find (a blank reference means "none")."""
    parts = _key_parts(rows, spec.source.key)
    keys = _joined(parts)
    wanted = [(spec.source.key, parts, keys)]
    ik = spec.issues_keys
    if ik is not None and ik.legacy != spec.source.key:
        own = _key_parts(rows, ik.legacy)
        wanted.append((ik.legacy, own, _joined(own)))
    for columns, key_parts, text in wanted:
        blank = pd.Series(True, index=rows.index)
        for part in key_parts:
            blank &= part == ""  # stripped already: whitespace alone is no key either
        failures.add(blank, columns[0], "required_missing", text)
    return keys


def condition_test(cond: Condition, frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(holds, unreadable): a text test is case-insensitive and whitespace-trimmed (legacy
    codes vary in case); a comparison reads the column as exact numbers, and a present value
    that is not one is *unreadable*: neither true nor false, its row is rejected."""
    column = frame[cond.column]
    if cond.ordered:
        mask, bad = numbers.compare(cond, column)
        return (~mask if cond.negate else mask) & ~bad, bad
    text = parse.as_text(column).str.strip().str.upper()
    if cond.is_blank is not None:
        mask = (text.isna() | (text == "")) == cond.is_blank
    elif cond.in_ is not None:
        mask = text.isin([str(v).strip().upper() for v in cond.in_])
    else:
        mask = text == str(cond.equals).strip().upper()
    mask = mask.fillna(False).astype(bool)
    return (~mask if cond.negate else mask), pd.Series(False, index=frame.index)


def condition_mask(cond: Condition, frame: pd.DataFrame) -> pd.Series:
    """Where the condition holds (an unreadable value does not: see :func:`condition_test`)."""
    return condition_test(cond, frame)[0]


# rows a filter could not decide: (their index, the filter's column, the reason), rejected
Undecided = list[tuple[pd.Index, str, str]]


def apply_filters(
    spec: EntitySpec, chunk: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, pd.Index], Undecided]:
    """Drop rows by each named filter in order; a row is counted by the first rule only.
    A row whose value a filter cannot read (a comparison on text that is no number) is
    not dropped, not tested by later filters, and returned to be rejected; a record its
    reader marked unreadable is tested by none."""
    dropped: dict[str, pd.Index] = {}
    undecided: Undecided = []
    remaining = chunk
    unread = chunk.index[chunk[READ_REASON].notna()] if READ_REASON in chunk.columns else None
    for rule in spec.source.filters:
        tested = remaining.drop(index=[i for idx, _, _ in undecided for i in idx])
        if unread is not None:  # a record its reader could not read is rejected, not filtered
            tested = tested.drop(index=tested.index.intersection(unread))
        mask, bad = condition_test(rule.drop_when, tested)
        dropped[rule.name] = tested.index[mask]
        if bool(bad.any()):
            undecided.append((tested.index[bad], rule.drop_when.column, rule.drop_when.reason))
        remaining = remaining.drop(index=dropped[rule.name])
    return remaining, dropped, undecided


def _reject_undecided(rows: pd.DataFrame, undecided: Undecided, failures: Failures) -> None:
    for index, column, reason in undecided:
        mask = pd.Series(rows.index.isin(index), index=rows.index)
        failures.add(mask, column, reason, rows[column])


def transform(
    spec: EntitySpec,
    chunk: pd.DataFrame,
    crosswalks: dict[str, dict[str, str]],
    resolve: Resolver,
    where: str = "",
    meanwhile: Callable[[], object] | None = None,
) -> TransformOutput:
    """Filter, then compute every target field; failures are collected, never raised.

    ``meanwhile`` is the caller's own work, done after the other fields and before the
    lookups' answers are taken: while a background resolver is still answering them.
    """
    rows, filtered, undecided = apply_filters(spec, chunk)
    failures = Failures(rows.index)
    keys = blank_keys(spec, rows, failures)  # first: a row without a key is rejected for it
    add_read_failures(rows, failures)  # then a record its reader could not read
    _reject_undecided(rows, undecided, failures)  # then a filter that could not decide
    lookups = _begin_lookups(spec, rows, resolve)
    values: dict[str, pd.Series] = {}
    deferred: list[tuple[str, Field_, StepContext, int]] = []
    for name, rule in spec.fields.items():
        ctx = StepContext(rows, crosswalks, f"{where} fields.{name}")
        if name in lookups:  # answered last, its failures put back in field order
            deferred.append((name, rule, ctx, len(failures.items)))
        else:
            values[name] = _field(name, rule, rows, ctx, failures, _now(rule, rows, spec, resolve))
    if meanwhile is not None:
        meanwhile()
    for name, rule, ctx, at in reversed(deferred):  # later positions first: earlier stay put
        own = Failures(failures.index)
        values[name] = _field(name, rule, rows, ctx, own, lookups[name])
        failures.items[at:at] = own.items
    out = pd.DataFrame(index=rows.index)
    for name in spec.fields:
        out[name] = values[name]
    return TransformOutput(out, failures, filtered, keys)


@dataclass
class _Lookup:
    """A lookup field's legacy keys (``""`` where blank) and the call that answers them."""

    legacy: pd.Series
    answer: Callable[[], tuple[pd.Series, pd.Series, pd.Series]]


def _lookup_keys(
    rule: Field_, rows: pd.DataFrame, spec: EntitySpec
) -> tuple[pd.Series, tuple[str, str, pd.Series]]:
    """A lookup field's legacy keys, and what the resolver is asked (blank keys as null)."""
    assert rule.lookup is not None
    legacy = key_string(rows, rule.lookup.from_)
    system = rule.lookup.system or spec.source.system
    return legacy, (rule.lookup.domain, system, legacy.where(legacy != ""))


def _now(rule: Field_, rows: pd.DataFrame, spec: EntitySpec, resolve: Resolver) -> _Lookup | None:
    """A lookup answered when its field is computed (``None`` for other fields)."""
    if rule.lookup is None:
        return None
    legacy, asked = _lookup_keys(rule, rows, spec)
    return _Lookup(legacy, functools.partial(resolve, *asked))


def _begin_lookups(spec: EntitySpec, rows: pd.DataFrame, resolve: Resolver) -> dict[str, _Lookup]:
    """With a resolver that can answer in the background (a ``begin`` method), every lookup
    field's keys are asked for before any field is computed and taken after the others:
    the answers arrive while the other fields are computed."""
    begin = getattr(resolve, "begin", None)
    out: dict[str, _Lookup] = {}
    if begin is None:
        return out
    for name, rule in spec.fields.items():
        if rule.lookup is not None:
            legacy, asked = _lookup_keys(rule, rows, spec)
            out[name] = _Lookup(legacy, begin(*asked))
    return out


def _base(
    rule: Field_,
    rows: pd.DataFrame,
    lookup: _Lookup | None,
    failures: Failures,
    name: str,
    ctx: StepContext,
) -> pd.Series:
    if rule.const is not None:
        return pd.Series([rule.const] * len(rows), index=rows.index, dtype="object")
    if rule.expr is not None:  # an operand that is no number, a division by zero: rejected
        values, refused = computed(parse_expr(rule.expr), rows)
        for r in refused:
            failures.add(r.rows, name, r.reason, r.values)
        return values
    if lookup is not None:
        legacy = lookup.legacy
        present = ~(legacy == "")
        keys, orphan, rejected = lookup.answer()
        failures.add(present & rejected, name, "parent_rejected", legacy)
        failures.add(present & orphan & ~rejected, name, "orphan_reference", legacy)
        return keys
    if isinstance(rule.from_, list):
        parts = [parse.as_text(rows[c]).fillna("").str.strip() for c in rule.from_]
        return _concat(parts, rule.join or "")
    if rule.parts is not None:
        return _concat([_piece(p, ctx, failures, name) for p in rule.parts], rule.join or "")
    assert rule.from_ is not None
    return rows[rule.from_]


def _concat(parts: list[pd.Series], sep: str) -> pd.Series:
    joined = parts[0]
    for p in parts[1:]:
        joined = joined + sep + p
    return joined.astype("str")


def _piece(item: str | Part, ctx: StepContext, failures: Failures, name: str) -> pd.Series:
    """One piece of ``parts`` as text (none as empty): a constant, or a column's trimmed
    text through the piece's own steps (a step's failure rejects the row, as a field's)."""
    part = as_part(item)
    index = ctx.source.index
    if part.column is None:
        return pd.Series(str(part.const), index=index, dtype="str")
    raw = ctx.source[part.column]
    value = parse.as_text(raw).str.strip()
    value = _stepped(value, part.steps, ctx, failures, name, raw)
    return parse.as_text(value).fillna("")


def _stepped(
    value: pd.Series,
    steps: list[Step],
    ctx: StepContext,
    failures: Failures,
    name: str,
    raw: pd.Series,
) -> pd.Series:
    for step in steps:
        value, bad, reason = IMPLEMENTATIONS[step.name](value, step.args, ctx)
        if bad is not None and reason is not None:
            failures.add(bad, name, reason, raw)
            value = value.where(~bad.fillna(False).astype(bool))
    return value


def _field(
    name: str,
    rule: Field_,
    rows: pd.DataFrame,
    ctx: StepContext,
    failures: Failures,
    lookup: _Lookup | None,
) -> pd.Series:
    holds = None
    if rule.when is not None:  # first: a row it cannot decide is rejected for that
        holds, unreadable = condition_test(rule.when, rows)
        failures.add(unreadable, name, rule.when.reason, rows[rule.when.column])
    raw = _base(rule, rows, lookup, failures, name, ctx)
    value = _stepped(raw, rule.steps, ctx, failures, name, raw)
    if holds is not None:
        value = value.where(holds)
    if rule.default is not None:
        value = _fill_default(value, rule.default)
    return value


def _fill_default(value: pd.Series, default: Any) -> pd.Series:
    empty = value.isna()
    if pd.api.types.is_string_dtype(value.dtype):
        empty = empty | (value.str.strip() == "").fillna(False)
    if pd.api.types.is_integer_dtype(value.dtype) and isinstance(default, int):
        return value.mask(empty, default)
    return value.astype("object").mask(empty, default)
