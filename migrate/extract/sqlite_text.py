"""Text a SQLite legacy database holds that is not UTF-8: a reject of its row, not a crash.

SQLite stores whatever bytes it is given as TEXT; Python's ``sqlite3`` decodes them as
UTF-8 and raises ``OperationalError: Could not decode to UTF-8`` on the first that is not,
which stopped the whole run. While the extract reads, the connection decodes with
``surrogateescape`` instead (a C-level ``text_factory``: 0.14 to 0.29 s more for 900,000
text values, measured), so every byte is kept. A row holding such a value is then
marked with the reader-mark columns (:data:`migrate.transform.failures.READ_COLUMNS`), which
the transform rejects as ``unreadable_record``, the bytes shown in hex; the value itself
becomes printable ``\\xNN`` escapes, as the delimited reader does, so a key holding one is
recorded readably.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Connection

from migrate.transform.failures import READ_COLUMNS

UNREADABLE = "unreadable_record"
_SURROGATE = re.compile("[\udc80-\udcff]")  # a byte kept by ``surrogateescape``
_LENIENT = functools.partial(str, encoding="utf-8", errors="surrogateescape")
SHOWN_BYTES = 64


def keep_bytes(conn: Connection) -> Callable[[], None]:
    """Decode the connection's text leniently; returns what puts its decoder back."""
    raw: Any = conn.connection.driver_connection
    before = raw.text_factory
    raw.text_factory = _LENIENT
    return lambda: setattr(raw, "text_factory", before)


def frame_of(part: Sequence[Any], columns: list[str]) -> pd.DataFrame:
    """The rows as a frame; only a chunk whose frame cannot be built (pandas stores text
    through Arrow, which refuses a lone surrogate) is looked at value by value."""
    try:
        frame = pd.DataFrame.from_records(part, columns=columns)
        if not any(_has_surrogate(frame[c]) for c in frame.columns if frame[c].dtype == object):
            return frame  # text columns are Arrow-backed: built means clean
    except UnicodeEncodeError:
        pass
    rows = [list(r) for r in part]
    marks: dict[int, tuple[str, str]] = {}
    for i, row in enumerate(rows):
        for j, v in enumerate(row):
            if isinstance(v, str) and _SURROGATE.search(v):
                raw = v.encode("utf-8", "surrogateescape")
                shown = raw[:SHOWN_BYTES].hex() + ("..." if len(raw) > SHOWN_BYTES else "")
                marks.setdefault(i, (columns[j], f"text that is not UTF-8: x'{shown}'"))
                row[j] = _escaped(v)
    frame = pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)
    cols: list[list[object]] = [[None] * len(rows) for _ in READ_COLUMNS]
    for i, (column, shown) in marks.items():
        cols[0][i], cols[1][i], cols[2][i] = UNREADABLE, column, shown
    for name, values in zip(READ_COLUMNS, cols, strict=True):
        frame[name] = pd.Series(values, index=frame.index, dtype="object")
    return frame


def _has_surrogate(col: pd.Series) -> bool:
    """A column pandas kept as objects (mixed values, or text where Arrow strings are off)."""
    return any(isinstance(v, str) and _SURROGATE.search(v) for v in col)


def _escaped(value: str) -> str:
    return _SURROGATE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
