"""Delimited text extracts (CSV, TAB, pipe...), with or without a header row.

Read with Python's ``csv`` module as the mapping declares the file: encoding, delimiter,
quote character (or none), escape character, header, and the column names in order. The
field count of every record is checked against the columns: a record with more or fewer
fields is never read shifted (a value under another column's name) but marked unreadable
(``_read_*`` columns), and so is a record with bytes the encoding cannot decode or with a
NUL character (never part of a legacy value: read on, ``1<NUL>2`` would be 1), so the
transform rejects it as ``unreadable_record`` and the run goes on. The offending value
shown is the field count or the undecodable field, never the whole record (it may hold
personal data).

Records are numbered as before: blank lines are not records, the header is not one.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from migrate.errors import SchemaMismatch
from migrate.spec.flatfile import FlatFile
from migrate.transform.failures import READ_COLUMNS

UNREADABLE = "unreadable_record"
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # bytes kept by ``surrogateescape``
_BOM = "\ufeff"


def open_text(path: Path, f: FlatFile) -> IO[str]:
    """The file as text in its declared encoding, a leading byte-order mark skipped; bytes
    the encoding cannot decode are kept (``surrogateescape``) so their record is rejected,
    not the whole run stopped."""
    refuse_foreign_bom(path, f.encoding)
    try:
        fh = path.open(encoding=f.encoding, errors="surrogateescape", newline="")
    except LookupError:
        raise SchemaMismatch(f"{path.name}: unknown encoding {f.encoding!r}") from None
    if fh.read(1) != _BOM:
        fh.seek(0)
    return fh


_UTF_MARKS = {b"\xef\xbb\xbf": "utf-8", b"\xff\xfe": "utf-16", b"\xfe\xff": "utf-16"}


def refuse_foreign_bom(path: Path, encoding: str) -> None:
    """A file that starts with a Unicode byte-order mark but is declared in another encoding
    (a UTF-8 export declared cp1252) would be read wrongly throughout: refuse it."""
    with path.open("rb") as raw:
        head = raw.read(3)
    try:
        declared = codecs.lookup(encoding).name
    except LookupError:
        return  # reported, with the file's name, where the file is opened
    for mark, family in _UTF_MARKS.items():
        if head.startswith(mark) and not declared.startswith(family):
            raise SchemaMismatch(
                f"{path.name} starts with a {family.upper()} byte-order mark but source.file "
                f"declares encoding {encoding!r}: declare encoding: {family}"
            )


def records(fh: IO[str], f: FlatFile) -> Any:
    """A ``csv.reader`` over the open file, with the file's dialect."""
    if f.quotechar is None:
        return csv.reader(
            fh,
            delimiter=f.delimiter,
            quoting=csv.QUOTE_NONE,
            escapechar=f.escapechar,
            strict=True,
        )
    # strict: a quote never closed, or text after a closing quote, stops the read (one line)
    # instead of swallowing later records into one field
    return csv.reader(
        fh, delimiter=f.delimiter, quotechar=f.quotechar, escapechar=f.escapechar, strict=True
    )


def _blank(fields: list[str]) -> bool:
    return not fields or fields == [""]


def _next_record(reader: Any, path: Path) -> list[str] | None:
    try:
        return next(reader)  # type: ignore[no-any-return]
    except StopIteration:
        return None
    except csv.Error as exc:
        raise SchemaMismatch(
            f"{path.name} line {reader.line_num}: {exc} (a quote character never closed?)"
        ) from None


def header_names(fields: list[str]) -> list[str]:
    """A header record's names as the columns are called (surrounding blanks dropped)."""
    return [c.strip() for c in fields]


def columns_of(f: FlatFile, path: Path) -> list[str]:
    """The file's column names: the header's (which must agree with ``columns`` when both
    are given), or the declared ``columns`` of a file without a header."""
    if not f.header:
        assert f.columns is not None
        return list(f.columns)
    with open_text(path, f) as fh:
        reader = records(fh, f)
        fields = _next_record(reader, path)
        while fields is not None and _blank(fields):
            fields = _next_record(reader, path)
    return agreed(f, path, header_names(fields or []))


def agreed(f: FlatFile, path: Path, found: list[str]) -> list[str]:
    """The header's names, refused when they repeat or disagree with ``columns``."""
    if not found or found == [""]:
        raise SchemaMismatch(f"{path.name}: no header record (declare header: false)")
    repeated = sorted({c for c in found if found.count(c) > 1})
    if repeated:
        raise SchemaMismatch(f"{path.name}: the header names {repeated[0]!r} twice")
    if f.columns is not None and found != f.columns:
        raise SchemaMismatch(f"{path.name}: {disagreement(f.columns, found)}")
    return found


def disagreement(declared: list[str], found: list[str]) -> str:
    """Where the header first differs from the declared columns, in words."""
    for i, (want, got) in enumerate(zip(declared, found, strict=False), start=1):
        if want != got:
            return f"header column {i} is {got!r}, source.file.columns says {want!r}"
    return f"the header has {len(found)} columns, source.file.columns declares {len(declared)}"


def delimited_frames(f: FlatFile, path: Path, chunk_size: int) -> Iterator[pd.DataFrame]:
    """Frames of ``chunk_size`` records, every column text, in file order (no ``_line``);
    a frame holding an unreadable record also has the ``_read_*`` columns."""
    if not path.exists():
        raise SchemaMismatch(f"flat file not found: {path}")
    names = columns_of(f, path)
    with open_text(path, f) as fh:
        reader = records(fh, f)
        if f.header:
            first = _next_record(reader, path)
            while first is not None and _blank(first):
                first = _next_record(reader, path)
        try:
            yield from _chunks(reader, names, chunk_size)
        except csv.Error as exc:
            raise SchemaMismatch(
                f"{path.name} line {reader.line_num}: {exc} (a quote character never closed?)"
            ) from None


def _chunks(reader: Any, names: list[str], chunk_size: int) -> Iterator[pd.DataFrame]:
    width = len(names)
    rows: list[list[str]] = []
    marks: dict[int, tuple[str, str]] = {}
    for fields in reader:
        if not fields or fields == [""]:  # a blank line is no record
            continue
        if len(fields) != width:
            marks[len(rows)] = _miscounted(fields, names, reader.line_num)
            fields = [_escaped(v) for v in (fields + [""] * width)[:width]]
        rows.append(fields)
        if len(rows) == chunk_size:
            yield _frame(rows, names, marks)
            rows, marks = [], {}
    if rows:
        yield _frame(rows, names, marks)


def _miscounted(fields: list[str], names: list[str], line: int) -> tuple[str, str]:
    """(column, value shown) of a record with more or fewer fields than declared."""
    column = names[len(fields)] if len(fields) < len(names) else "_record"
    return column, (
        f"{len(fields)} fields where {len(names)} are declared (record ends on line {line})"
    )


def _undecodable(
    rows: list[list[str]], names: list[str], marks: dict[int, tuple[str, str]]
) -> None:
    """Mark (and escape) the records holding bytes the encoding could not decode; only
    looked for when a chunk cannot be stored as text, so a clean file pays nothing."""
    for i, fields in enumerate(rows):
        if _UNDECODABLE.search("\x1f".join(fields)) is None:
            continue
        at = next(j for j, v in enumerate(fields) if _UNDECODABLE.search(v))
        shown = _escaped(fields[at])[:60]
        marks.setdefault(i, (names[at], f"bytes the declared encoding cannot decode: {shown}"))
        rows[i] = [_escaped(v) for v in fields]


def _escaped(value: str) -> str:
    """Undecodable bytes as ``\\xNN`` (how a key holding one is recorded)."""
    if _UNDECODABLE.search(value) is None:
        return value
    return _UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)


def _nul_records(
    frame: pd.DataFrame, rows: list[list[str]], names: list[str], marks: dict[int, tuple[str, str]]
) -> pd.DataFrame:
    """Mark (and escape) the records holding a NUL character: no legacy value holds one
    (C and SQL text end at it: ``1<NUL>2`` read as 1 is a silent change, and PostgreSQL
    refuses the text), so the record is unreadable, its field shown as ``1\\x002``. Looked
    for with one Arrow kernel per column, so a clean file pays little."""
    hits = np.zeros(len(rows), dtype=bool)
    for name in names:
        found = pc.match_substring(pa.array(frame[name], pa.string()), NUL)
        hits |= np.asarray(pc.fill_null(found, False), dtype=bool)
    if not hits.any():
        return frame
    for i in np.flatnonzero(hits):
        fields = rows[i]
        at = next(j for j, v in enumerate(fields) if NUL in v)
        shown = shown_value(fields[at])
        marks.setdefault(int(i), (names[at], f"a NUL character in the field: {shown}"))
        rows[i] = [shown_value(v, limit=None) for v in fields]
    return _text_frame(rows, names)


NUL = "\x00"
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def shown_value(value: str, limit: int | None = 60) -> str:
    """A field with NUL and the other control characters written ``\\xNN`` (and undecodable
    bytes as :func:`_escaped` writes them), cut to ``limit`` characters: safe to print,
    to store in any database and to write in a workbook."""
    out = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", _escaped(value))
    return out if limit is None or len(out) <= limit else out[: limit - 3] + "..."


def _frame(
    rows: list[list[str]], names: list[str], marks: dict[int, tuple[str, str]]
) -> pd.DataFrame:
    try:
        frame = _text_frame(rows, names)
    except (UnicodeEncodeError, pa.ArrowException):
        _undecodable(rows, names, marks)
        frame = _text_frame(rows, names)
    frame = _nul_records(frame, rows, names, marks)
    if marks:
        reason: list[object] = [None] * len(rows)
        column: list[object] = [None] * len(rows)
        value: list[object] = [None] * len(rows)
        for i, (col, shown) in marks.items():
            reason[i], column[i], value[i] = UNREADABLE, col, shown
        for name, values in zip(READ_COLUMNS, (reason, column, value), strict=True):
            frame[name] = pd.Series(values, dtype="object")
    return frame


def _text_frame(rows: list[list[str]], names: list[str]) -> pd.DataFrame:
    """Columns of text built through Arrow (about ten times faster than from Python lists)."""
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in names]
    return pd.DataFrame(
        {
            name: pd.array(pa.array(col, type=pa.large_string()), dtype="str")
            for name, col in zip(names, columns, strict=True)
        }
    )
