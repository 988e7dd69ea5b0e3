"""Compile an entity's Pandera schema from its mapping plus the staging table.

From the staging table: nullability (NOT NULL unless the field says ``required: false``)
and string lengths. From the mapping: allowed values, patterns, ranges (``min: 0`` on money
means no negative amounts) and uniqueness of the target key. Validation is lazy, and each
failure case is turned into a row failure with a stable reason code (the check's ``error``).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors
from sqlalchemy import String, Table

from migrate.spec.model import EntitySpec, Field_
from migrate.transform.failures import Failures
from migrate.validate.coerce import target_kind

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


def required(spec: EntitySpec, table: Table, name: str) -> bool:
    rule = spec.fields[name]
    return rule.required if rule.required is not None else not table.c[name].nullable


def compile_schema(spec: EntitySpec, table: Table) -> pa.DataFrameSchema:
    """The Pandera schema for one entity's transformed, coerced frame."""
    columns: dict[str, pa.Column] = {}
    for name, rule in spec.fields.items():
        column = table.c[name]
        kind = target_kind(column)
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
    """Run lazily; every failure case becomes a row failure (reason, column, value)."""
    try:
        schema.validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()]
        for (column, check), group in cases.groupby(["column", "check"], sort=False):
            reason = _REASON_OF_BUILTIN.get(str(check), str(check))
            mask = pd.Series(False, index=frame.index)
            mask.loc[group["index"].astype(frame.index.dtype).unique()] = True
            col = str(column)
            values = raw[col] if col in raw.columns else frame[col]
            failures.add(mask, col, reason, values)
