"""An exception that escaped the pipeline, said in one line: entity, chunk, rows, column.

A defect or an input nobody foresaw (a pandas ``KeyError``, a driver error) must not reach the
user as a 64-line traceback. The runner turns it into :class:`~migrate.errors.RunFailed`
whose message names the mapping (entity and file), the chunk being processed (its batch,
its file lines or its first and last source keys) and the column or field where the
traceback shows one; the traceback itself stays available with ``migrate --debug``.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import pandas as pd

from migrate.extract.chunks import LINE, Chunk
from migrate.extract.named_columns import did_you_mean
from migrate.spec.loader import LoadedEntity

MAX_TEXT = 160


def describe(exc: BaseException, entity: LoadedEntity) -> str:
    """One line: where in the entity's data the exception happened, and what it says."""
    frames = _locals(exc.__traceback__)
    chunk = _find_chunk(frames)
    field = _find_field(frames, entity)
    parts = [f"{entity.spec.entity} ({entity.display})"]
    if chunk is not None:
        parts.append(f"batch {chunk.batch_id}, {_rows(chunk, entity)}")
    if field is not None:
        parts.append(f"fields.{field}")
    return f"{', '.join(parts)}: {_what(exc, chunk)}"


def _locals(tb: TracebackType | None) -> list[dict[str, Any]]:
    """Each frame's local variables, innermost first."""
    out: list[dict[str, Any]] = []
    while tb is not None:
        out.append(tb.tb_frame.f_locals)
        tb = tb.tb_next
    return out[::-1]


def _find_chunk(frames: list[dict[str, Any]]) -> Chunk | None:
    for names in frames:
        for value in names.values():
            if isinstance(value, Chunk):
                return value
            inner = getattr(value, "chunk", None)
            if isinstance(inner, Chunk):
                return inner
    return None


def _find_field(frames: list[dict[str, Any]], entity: LoadedEntity) -> str | None:
    """The target field being computed, where a frame holds its name."""
    for names in frames:
        name = names.get("name")
        if isinstance(name, str) and name in entity.spec.fields:
            return name
    return None


def _rows(chunk: Chunk, entity: LoadedEntity) -> str:
    rows = chunk.rows
    if rows.empty:
        return "no rows"
    if LINE in rows.columns:
        lines = pd.to_numeric(rows[LINE], errors="coerce")
        return f"records {int(lines.min()):,}-{int(lines.max()):,} of the file ({len(rows):,})"
    key = [c for c in entity.spec.source.key if c in rows.columns]
    if not key:
        return f"{len(rows):,} rows"
    first = "|".join(str(v) for v in rows[key].iloc[0])
    last = "|".join(str(v) for v in rows[key].iloc[-1])
    return f"{len(rows):,} rows, source keys {first} to {last}"


def _what(exc: BaseException, chunk: Chunk | None) -> str:
    """What went wrong: a missing column named (with a near one), else the exception's
    own first line, cut short."""
    if isinstance(exc, KeyError) and exc.args and isinstance(exc.args[0], str):
        column = exc.args[0]
        have = [] if chunk is None else [str(c) for c in chunk.rows.columns]
        if column not in have:
            return f"no column {column!r} in the source{did_you_mean(column, have)}"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > MAX_TEXT:
        text = text[: MAX_TEXT - 3] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
