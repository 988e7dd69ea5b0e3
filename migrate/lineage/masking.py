"""Which columns hold personal data, and how their values are shown outside staging.

A mapping marks a field ``personal: ssn | bank_account | routing | birth_date``. Staging
keeps the real value (the ERP needs it); every other place (lineage output, audit log,
reports, workbooks, logs) shows :func:`mask_value`: the last four digits at most, never a
birth date. Both the target column and the legacy columns feeding it are personal.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from migrate.spec.model import EntitySpec

BIRTH_DATE_MASK = "****-**-**"
_DIGITS = re.compile(r"\d")


def mask_value(kind: str | None, value: object) -> object:
    """The value as it may appear in an artifact (unchanged when ``kind`` is None)."""
    if kind is None or value is None:
        return value
    if str(value).startswith("***") or value == BIRTH_DATE_MASK:
        return value  # already masked upstream (MIG_REJECTS)
    if kind == "birth_date":
        return BIRTH_DATE_MASK
    digits = "".join(_DIGITS.findall(str(value)))
    return "***" + digits[-4:] if len(digits) >= 8 else "***"


def target_personal(specs: Iterable[EntitySpec]) -> dict[str, dict[str, str]]:
    """Target table -> {column: kind} for every field marked personal."""
    out: dict[str, dict[str, str]] = {}
    for spec in specs:
        for column, rule in spec.fields.items():
            if rule.personal:
                out.setdefault(spec.target.table.upper(), {})[column.upper()] = rule.personal
    return out


def source_personal(spec: EntitySpec) -> dict[str, str]:
    """Legacy column -> kind, for the columns that feed a personal field of this entity;
    never a key column (keys name rows unmasked everywhere, and the mapping loader refuses
    a personal field that reads keys alone)."""
    keys = set(spec.source.key) | set(spec.issues_keys.legacy if spec.issues_keys else [])
    out: dict[str, str] = {}
    for rule in spec.fields.values():
        if rule.personal:
            for column in rule.source_columns():
                if column not in keys:
                    out[column.upper()] = rule.personal
    return out


def mask_row(row: dict[str, object], personal: dict[str, str]) -> dict[str, object]:
    """A copy of ``row`` with its personal columns masked (column names compared upper-case)."""
    return {k: mask_value(personal.get(k.upper()), v) for k, v in row.items()}
