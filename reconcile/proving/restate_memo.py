"""Restated values remembered by their inputs, so a value repeated down a column is worked
out once.

Restating every column a mapping fills, in Python, costs per row and per column; but most
columns repeat: a constant, an agency name, a job title, a department code, the same staged
text. A column's restated value depends only on the legacy values it reads (its
``source_columns``: origin, ``when``, ``sign_by``), the crosswalks and the mask key, which
are fixed for a reconciliation; a staged value's canonical form only on the value. So each
column keeps the answers for the last inputs it saw (at most :data:`LIMIT`, then it starts
again: memory stays bounded whatever the table's size).

Only inputs whose equality means equal text are remembered: ``str``, ``int``, ``date`` and
None, by exact type (``1 == 1.0 == True`` and ``Decimal('1.0') == Decimal('1.00')`` print
differently; two aware timestamps of one instant are equal in different zones). Any other
value is restated each time. A column filled by ``lookup`` also depends on the key map's
answer, and is never remembered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Generic, TypeVar

from reconcile.proving.restate import Canonical

LIMIT = 4096
_PLAIN = frozenset({str, int, date, type(None)})
T = TypeVar("T")


class Memo(Generic[T]):
    """``compute(item)`` remembered by ``inputs`` (the values ``item`` is read for)."""

    def __init__(self, compute: Callable[[T], Canonical]) -> None:
        self.compute = compute
        self.seen: dict[tuple[object, ...], Canonical] = {}

    def __call__(self, inputs: tuple[object, ...], item: T) -> Canonical:
        for value in inputs:
            if type(value) not in _PLAIN:
                return self.compute(item)
        try:
            return self.seen[inputs]
        except KeyError:
            pass
        if len(self.seen) >= LIMIT:
            self.seen.clear()
        answer = self.seen[inputs] = self.compute(item)
        return answer
