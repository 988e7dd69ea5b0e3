"""Both sides asked a question at once or in turn: apart, as an entity's first scan asks too."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from reconcile.reading.rows import RowSource

T = TypeVar("T")
U = TypeVar("U")

# sides that run Python once per row (SQLite read through SQL calls our hash and parser back;
# a streamed side is Python; an "arrow" side does not): two of them in threads contend for
# the GIL and take longer than one after the other (1M rows per side on SQLite through SQL:
# 4.5 s at once, 3.7 s in turn)
PYTHON_PER_ROW = frozenset({"sqlite", "stream"})


def at_once(source: RowSource, staged: RowSource) -> bool:
    """Whether the two sides' questions gain from running concurrently (never for a side
    compared with itself: its cached scan is then computed once, on one connection)."""
    return source is not staged and not {source.family, staged.family} <= PYTHON_PER_ROW


def both(left: Callable[[], T], right: Callable[[], U], together: bool = True) -> tuple[T, U]:
    """Run the two sides' questions at once (each on its own database connection), or one
    after the other when ``together`` is false (see :func:`at_once`)."""
    if not together:
        return left(), right()
    with ThreadPoolExecutor(2) as pool:
        a, b = pool.submit(left), pool.submit(right)
        return a.result(), b.result()
