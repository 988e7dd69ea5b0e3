"""Driver result rows decoded at once into tuples and Rows, for every question that pulls rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import CursorResult

from reconcile.reading.rows import INVALID, Row, Value


def all_tuples(result: CursorResult[Any]) -> list[tuple[Any, ...]]:
    """All rows as the driver's own tuples: one driver call, no SQLAlchemy row objects
    (65,536 bucket rows per side cost a tenth of a second through them, when the first
    level had that many). Values are the driver's types, which ``as_int`` and ``to_row``
    accept (int, Decimal, str, None).

    Through the result's fetch strategy, as ``CursorResult.all`` itself fetches: it returns
    rows a buffered (server-side) cursor already holds and wraps driver errors; reading
    ``result.cursor`` directly would lose those rows."""
    try:
        return list(result.cursor_strategy.fetchall(result, result.cursor))
    finally:
        result.close()


def as_int(value: object) -> int:
    return 0 if value is None else int(value)  # type: ignore[call-overload]


def to_row(r: tuple[object, ...], n: int, m: int) -> Row:
    values: list[Value] = []
    for i in range(n):
        if as_int(r[3 + n + i]):
            values.append(INVALID)
        else:
            v = r[3 + i]
            values.append(None if v is None else as_int(v))
    texts = tuple(None if t is None else str(t) for t in r[3 + 2 * n : 3 + 2 * n + m])
    return Row(str(r[0]), tuple(values), r[3 + 2 * n + m :], texts, as_int(r[1]), as_int(r[2]))
