"""A compared amount as SQL: apart, as both sides declare amounts before any relation exists."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ValueSql:
    """One compared amount: its cents (NULL when none or invalid) and whether there is an
    amount text at all (1/0). Invalid = present without cents, so the expensive test of
    validity is written once, inside ``cents``."""

    cents: str
    present: str
    raw: RawAmount | None = None  # legacy amount as stored (SQLite, PostgreSQL): Arrow reads


@dataclass(frozen=True)
class RawAmount:
    """A legacy amount before parsing: its column (quoted), declared encoding and the SQL of
    the row's sign test (``1 = 1`` when the measure has none)."""

    column: str
    encoding: str
    selected: str
