"""Compile an entity's Pandera schema from its mapping plus the staging table.

From the staging table: nullability (NOT NULL unless the field says ``required: false``)
and string lengths; from a declared table's definition also its ``allowed`` values and a
text column's ``format`` (:mod:`migrate.validate.declared`). From the mapping: allowed
values, patterns, ranges (``min: 0`` on money
means no negative amounts) and uniqueness of the target key. Every check runs on every row
(as Pandera's lazy validation), and each failing row becomes a row failure with a stable
reason code (the check's ``error``); :func:`validate` builds that report for the failing rows
only, in the order Pandera's lazy report gives.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

import pandas as pd
import pandera.pandas as pa
from sqlalchemy import String, Table

from migrate.errors import TerminalError
from migrate.spec.model import EntitySpec, Field_
from migrate.transform.failures import Failures
from migrate.validate.coerce import target_kind
from migrate.validate.declared import allowed_values, breaks_format, definition, format_problem

_KEEP: dict[str, Literal["first", "last", False]] = {
    "exclude_first": "first",
    "exclude_last": "last",
    "all": False,
}
_REASON_OF_BUILTIN = {
    "not_nullable": "required_missing",
    "multiple_fields_uniqueness": "duplicate_key",
    "field_uniqueness": "duplicate_key",
}


def _bound(value: Any, kind: str) -> Any:
    if kind == "money":
        return int(Decimal(str(value)) * 100)
    if kind in ("date", "datetime"):
        return pd.Timestamp(value)
    return value


def _checks(rule: Field_, column: Any, kind: str) -> list[pa.Check]:
    checks: list[pa.Check] = []
    if isinstance(column.type, String) and column.type.length:
        checks.append(pa.Check.str_length(max_value=column.type.length, error="too_long"))
    if rule.allowed is not None:
        checks.append(pa.Check.isin(rule.allowed, error="invalid_value"))
    checks.extend(declared_checks(column, kind))
    if rule.pattern is not None:
        checks.append(pa.Check.str_matches(rule.pattern, error="invalid_format"))
    if rule.min is not None:
        reason = (
            "negative_amount"
            if kind == "money" and Decimal(str(rule.min)) == 0
            else ("out_of_range")
        )
        checks.append(pa.Check.ge(_bound(rule.min, kind), error=reason))
    if rule.max is not None:
        checks.append(pa.Check.le(_bound(rule.max, kind), error="out_of_range"))
    return checks


def declared_checks(column: Any, kind: str) -> list[pa.Check]:
    """The checks a declared column's definition carries: ``allowed`` and a text ``format``."""
    checks: list[pa.Check] = []
    allowed = allowed_values(column, kind)
    if allowed is not None:
        checks.append(pa.Check.isin(allowed, error="invalid_value"))
    fmt = getattr(definition(column), "format", None)
    if fmt is not None and kind == "text" and format_problem(column) is None:
        checks.append(pa.Check(lambda s, f=fmt: ~breaks_format(s, f), error="invalid_format"))
    return checks


def rule_problems(rule: Field_, kind: str) -> list[tuple[str, str]]:
    """(mapping key, why) for each value rule the target column's kind cannot take: a
    ``pattern`` matches text only, ``min``/``max`` compare numbers, money and dates.
    ``migrate mappings check`` reports them at ``file:line``; a run stops before its first
    chunk (a check that cannot run would otherwise fail every chunk, or pass unseen)."""
    out: list[tuple[str, str]] = []
    if rule.pattern is not None and kind != "text":
        out.append(("pattern", f"a pattern needs a text column, and this one is {kind}"))
    for bound in ("min", "max"):
        if getattr(rule, bound) is not None and kind in ("text", "boolean"):
            out.append((bound, f"{bound} needs a number, money or date column, not {kind}"))
    return out


def required(spec: EntitySpec, table: Table, name: str) -> bool:
    rule = spec.fields[name]
    return rule.required if rule.required is not None else not table.c[name].nullable


def compile_schema(spec: EntitySpec, table: Table) -> pa.DataFrameSchema:
    """The Pandera schema for one entity's transformed, coerced frame."""
    columns: dict[str, pa.Column] = {}
    for name, rule in spec.fields.items():
        column = table.c[name]
        kind = target_kind(column)
        for rule_key, why in rule_problems(rule, kind):
            raise TerminalError(f"{spec.entity}: fields.{name}.{rule_key}: {why}")
        why_not = format_problem(column)
        if why_not is not None:  # a format that cannot be checked would pass unseen
            raise TerminalError(f"{spec.entity}: {table.name}.{name}: {why_not}")
        columns[name] = pa.Column(
            nullable=not required(spec, table, name),
            checks=_checks(rule, column, kind),
            required=True,
        )
    key = spec.target.key if all(k in spec.fields for k in spec.target.key) else []
    return pa.DataFrameSchema(
        columns,
        unique=key or None,
        report_duplicates="exclude_first",
        name=spec.entity,
    )


def validate(
    schema: pa.DataFrameSchema, frame: pd.DataFrame, raw: pd.DataFrame, failures: Failures
) -> None:
    """Run every declared check; every failing row becomes a row failure (reason, column, value).

    Pandera runs each declared :class:`~pandera.Check` (:meth:`pandera.Check.__call__`), but
    the failure report is built here from the checks' boolean outputs, for the failing rows
    only: ``schema.validate(lazy=True)`` spent most of its time on what this needs none of
    (a copy of the frame, a printed message per failed check, the long-form failure-case
    frame rebuilt once per failing column). The failures come out as Pandera's lazy report
    ordered them, which decides each reject's first reason and message: the uniqueness of
    the target key first (per key column, rows where that column is not null), then column
    by column in schema order, nulls before the column's checks in declared order; checks of
    one column sharing an ``error`` report as one failure. ``tests/test_validate_speed_*.py``
    holds this to the result of ``schema.validate(frame, lazy=True)``.
    """
    found: dict[tuple[str, str], pd.Series] = {}

    def note(column: str, check: str, mask: pd.Series) -> None:
        if not bool(mask.any()):
            return
        key = (column, check)
        found[key] = found[key] | mask if key in found else mask

    if schema.unique and not frame.empty:
        subset = [c for c in schema.unique if c in frame.columns]
        if subset:
            keep = _KEEP[str(schema.report_duplicates)]
            dup = frame.duplicated(subset=subset, keep=keep)
            if bool(dup.any()):
                for col in subset:
                    note(col, "multiple_fields_uniqueness", dup & frame[col].notna())
    for name, column in schema.columns.items():
        if name not in frame.columns:
            continue
        series = frame[name]
        if not column.nullable and series.hasnans:  # a value refused already is not blank
            refused = failures.refused(name).reindex(series.index, fill_value=False)
            note(name, "not_nullable", series.isna() & ~refused)
        for check in column.checks:
            try:
                result = check(series)
            except (TypeError, ValueError, AttributeError) as exc:  # no values in the message
                raise TerminalError(
                    f"{schema.name}: the {check.error} check on {name} cannot run on its "
                    f"{series.dtype} values ({type(exc).__name__}); check the field's rule "
                    "against the staging column's type"
                ) from exc
            if not result.check_passed:
                # the output covers the non-null rows only (nulls pass, as in Pandera)
                failing = ~result.check_output.fillna(True).astype(bool)
                note(name, str(check.error), failing.reindex(frame.index, fill_value=False))
    for (col, check), mask in found.items():
        reason = _REASON_OF_BUILTIN.get(check, check)
        values = raw[col] if col in raw.columns else frame[col]
        failures.add(mask, col, reason, values)
