"""Read one legacy row by its key, through a read-only connection, masked before it leaves.

Lineage shows the source row as it is now in the legacy system next to the hash of the row
as extracted (``MIG_SOURCE_HASH``): the legacy side is only ever read (invariant 4), and
personal columns are masked here so no caller can print them by accident.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, MetaData, Table, func, select

from migrate.config import Settings
from migrate.db import readonly_engine
from migrate.extract.files.dispatch import read_frames
from migrate.extract.files.origins import mapping_dir
from migrate.extract.flat_file import resolve_path
from migrate.lineage.masking import mask_row, source_personal
from migrate.spec.model import EntitySpec
from migrate.transform.engine import KEY_SPACE, key_string
from migrate.transform.failures import READ_COLUMNS


def coerce_key(column: Column[Any], text: str) -> object:
    """A key part (text, as in ``MIG_SOURCE_KEY``) as the column's Python type."""
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return text
    if kind is int:
        return int(text)
    if kind is Decimal:
        return Decimal(text)
    if kind is datetime:
        return datetime.fromisoformat(text)
    if kind is date:
        return date.fromisoformat(text[:10])
    return text


def key_match(table: Table, columns: list[str], key: str, text: str = "trim") -> list[Any] | None:
    """WHERE terms matching ``A|B`` against the key columns; None if the key cannot match.

    ``text`` says how a text part matches: ``trim`` (SQL's ``TRIM`` of the value equals
    it), ``exact`` (the value equals it: an index serves this), ``contains`` (a legacy value
    may carry whitespace the recorded key lost, :data:`KEY_SPACE`; the caller checks each
    row)."""
    parts = key.split("|")
    if len(parts) != len(columns):
        return None
    terms: list[Any] = []
    for name, part in zip(columns, parts, strict=True):
        col = _column(table, name)
        if col is None:
            return None
        try:
            value = coerce_key(col, part)
        except (ValueError, ArithmeticError):
            return None
        if not isinstance(value, str) or text == "exact":
            terms.append(col == value)
        elif text == "contains":
            terms.append(col.contains(value, autoescape=True))
        else:
            terms.append(func.trim(col) == value)
    return terms


def _text_parts_equal(row: Any, columns: list[Column[Any]], key: str) -> bool:
    """Each text key part of ``row``, stripped as the pipeline strips it, is the recorded
    part (other parts were matched exactly in SQL)."""
    for col, part in zip(columns, key.split("|"), strict=True):
        value = row[col.name]
        text = "" if value is None else str(value).strip(KEY_SPACE)
        if isinstance(coerce_key(col, part), str) and text != part:
            return False
    return True


def _column(table: Table, name: str) -> Column[Any] | None:
    found = [c for c in table.c if c.name.upper() == name.upper()]
    return found[0] if found else None


def read_source_row(settings: Settings, spec: EntitySpec, key: str) -> dict[str, object] | None:
    """The legacy row with this source key (masked), or None when it is no longer there."""
    if spec.source.file is not None:
        return _file_row(settings, spec, key)
    if spec.source.table is None:
        return None
    engine = readonly_engine(settings.url(spec.source.system))
    try:
        table = Table(spec.source.table, MetaData(), autoload_with=engine)
        columns = [c for c in (_column(table, n) for n in spec.source.key) if c is not None]
        row = None
        with engine.connect() as conn:
            # the value as recorded first (an index finds it), then one that carries
            # whitespace the key lost: a scan, streamed, stopped at the first match
            for how in ("exact", "contains"):
                terms = key_match(table, spec.source.key, key, how)
                if terms is None:
                    return None
                found = conn.execution_options(stream_results=True, yield_per=1000).execute(
                    select(table).where(*terms)
                )
                row = next(
                    (r for r in found.mappings() if _text_parts_equal(r, columns, key)), None
                )
                found.close()
                if row is not None:
                    break
    finally:
        engine.dispose()
    if row is None:
        return None
    return mask_row({k: _plain(v) for k, v in row.items()}, source_personal(spec))


def _file_row(settings: Settings, spec: EntitySpec, key: str) -> dict[str, object] | None:
    """An extract's record by its key columns (or its record number, ``_line``), read as the
    run read it: the declared delimiter, quoting, header or columns, or fixed-width layout."""
    f = spec.source.file
    if f is None:
        return None
    path = resolve_path(spec, settings.workdir)
    if not path.exists():
        return None
    marks = set(READ_COLUMNS)
    for frame in read_frames(f, path, 10_000, mapping_dir(spec.entity)):
        keys = key_string(frame, spec.source.key)
        hit = frame[keys == key]
        if len(hit):
            row = {str(k): v for k, v in hit.iloc[0].items() if k not in marks}
            return mask_row(row, source_personal(spec))
    return None


def _plain(value: object) -> object:
    """JSON-friendly: dates as ISO text, decimals as exact text."""
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value
