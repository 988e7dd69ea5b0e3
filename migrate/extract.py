"""Stream a source in chunks that never split a group, from a database or a flat file.

Database sources are read through a server-side cursor (``stream_results``) ordered by the
source key, so memory stays bounded and a resumed run can continue after the last key it
committed. Rows sharing the ``group_by`` columns (a journal) or the key (exact duplicates)
are held back until their group is complete, so group rules see whole groups.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, MetaData, Select, Table, literal_column, select, text, tuple_

from migrate.errors import SchemaMismatch
from migrate.spec.model import EntitySpec
from migrate.transform.parse import as_text

LINE = "_line"


@dataclass(frozen=True)
class Chunk:
    batch_id: int
    rows: pd.DataFrame
    last_key: str


def _group_columns(spec: EntitySpec) -> list[str]:
    return spec.source.group_by or spec.source.key


def _regroup(frames: Iterator[pd.DataFrame], spec: EntitySpec, first_batch: int) -> Iterator[Chunk]:
    """Re-cut frames so a group never spans two chunks.

    The last group of each frame waits for the next frame (it may continue there), and each
    ready chunk is held one step, so the stream's final group joins the last chunk instead
    of becoming a chunk of a few rows. At most two frames are in memory.
    """
    cols = _group_columns(spec)
    carry: pd.DataFrame | None = None
    pending: pd.DataFrame | None = None
    batch = first_batch
    for frame in frames:
        if carry is not None and len(carry):
            frame = pd.concat([carry, frame], ignore_index=True)
        if frame.empty:
            continue
        last = frame.iloc[-1][cols]
        tail = (frame[cols] == last.values).all(axis=1)
        ready, carry = frame[~tail], frame[tail]
        if len(ready):
            if pending is not None:
                yield Chunk(batch, pending, _last_key(pending, spec))
                batch += 1
            pending = ready.reset_index(drop=True)
    parts = [p for p in (pending, carry) if p is not None and len(p)]
    if parts:
        final = pd.concat(parts, ignore_index=True)
        yield Chunk(batch, final, _last_key(final, spec))


def _last_key(frame: pd.DataFrame, spec: EntitySpec) -> str:
    """The last group's values as JSON (native types, so a resume compares like with like)."""
    row = frame.iloc[-1]
    values = [None if pd.isna(row[c]) else _native(row[c]) for c in _group_columns(spec)]
    return json.dumps(values)


def _native(value: object) -> object:
    if hasattr(value, "item"):
        return value.item()  # numpy scalar
    if isinstance(value, (int, str)):
        return value
    return str(value)


def source_selectable(spec: EntitySpec, engine: Engine) -> Table:
    """The reflected source table (a query source is wrapped as a subquery)."""
    md = MetaData()
    if spec.source.table is None:
        raise SchemaMismatch(f"{spec.entity}: source is not a table")
    try:
        return Table(spec.source.table, md, autoload_with=engine)
    except Exception as exc:
        raise SchemaMismatch(
            f"{spec.entity}: source table {spec.source.table!r} not found in "
            f"{spec.source.system} ({type(exc).__name__})"
        ) from exc


def read_database(
    spec: EntitySpec,
    engine: Engine,
    chunk_size: int,
    after_key: list[object] | None = None,
    first_batch: int = 1,
    delta_after: object | None = None,
) -> Iterator[Chunk]:
    """Stream a table or query ordered by the source key; resume after ``after_key``."""
    if spec.source.query is not None:
        stmt: Select[Any] = select(literal_column("*")).select_from(
            text(f"({spec.source.query}) AS q")
        )
        order: list[Any] = [
            literal_column(c) for c in (spec.source.group_by or []) + spec.source.key
        ]
    else:
        table = source_selectable(spec, engine)
        stmt = select(table)
        order = [table.c[c] for c in (spec.source.group_by or []) + spec.source.key]
        if after_key is not None:
            keycols = [table.c[c] for c in _group_columns(spec)]
            stmt = stmt.where(tuple_(*keycols) > tuple_(*after_key))
        if delta_after is not None and spec.source.delta_column:
            stmt = stmt.where(table.c[spec.source.delta_column] > delta_after)
    stmt = stmt.order_by(*order)

    def frames() -> Iterator[pd.DataFrame]:
        with engine.connect() as conn:
            result = conn.execution_options(yield_per=chunk_size).execute(stmt)
            columns = list(result.keys())
            for part in result.partitions(chunk_size):
                yield pd.DataFrame.from_records(part, columns=columns)

    yield from _regroup(frames(), spec, first_batch)


def resolve_path(spec: EntitySpec, workdir: Path) -> Path:
    """A flat file's path: ``env`` variable if set, else ``path``; relative to the workdir."""
    import os

    assert spec.source.file is not None
    raw = os.environ.get(spec.source.file.env or "", "") or spec.source.file.path
    path = Path(os.path.expandvars(raw))
    return path if path.is_absolute() else (workdir / path).resolve()


def read_file(
    spec: EntitySpec, path: Path, chunk_size: int, skip_batches: int = 0, first_batch: int = 1
) -> Iterator[Chunk]:
    """Stream a CSV extract as text columns; ``_line`` is the 1-based data-row number."""
    f = spec.source.file
    assert f is not None
    if not path.exists():
        raise SchemaMismatch(f"{spec.entity}: flat file not found: {path}")
    reader = pd.read_csv(
        path,
        encoding=f.encoding,
        sep=f.delimiter,
        quotechar=f.quotechar,
        dtype="str",
        keep_default_na=False,
        chunksize=chunk_size,
        skipinitialspace=False,
    )
    start = 0

    def frames() -> Iterator[pd.DataFrame]:
        nonlocal start
        for frame in reader:
            frame.columns = [c.strip().lstrip("\ufeff") for c in frame.columns]
            frame.insert(0, LINE, range(start + 1, start + 1 + len(frame)))
            start += len(frame)
            yield frame.astype({c: "str" for c in frame.columns if c != LINE})

    for chunk in _regroup(frames(), spec, first_batch):
        if chunk.batch_id - first_batch >= skip_batches:
            yield chunk


def distinct_values(spec: EntitySpec, engine: Engine, column: str) -> pd.Series:
    """Distinct values of one source column (for crosswalk coverage)."""
    table = source_selectable(spec, engine)
    with engine.connect() as conn:
        rows = conn.execute(select(table.c[column]).distinct()).scalars().all()
    return as_text(pd.Series(rows, dtype="object"))
