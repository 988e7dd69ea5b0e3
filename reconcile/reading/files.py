"""Reconciliation's own reading of a flat-file extract (Python's ``csv``, never the pipeline's
reader): the legacy side of an entity whose source is a file.

It honours the same declarations as the pipeline (``source.file``: encoding, delimiter,
quote character or none, escape character, header, ``columns``) with code of its own, so a
reader that drops or shifts records on one side is seen by the other. A record whose field
count is not the declared one, or that holds bytes its encoding cannot decode, is still a
source row (the pipeline rejects it as ``unreadable_record``, and so a record holding a NUL
character, which no legacy value holds): its key columns are read by
position, and every other column holds a note saying the record is unreadable, which no
amount parser reads as an amount, so its measures are UNVERIFIED, never guessed or 0.
A fixed-width file is read by ``reconcile/reading/fixed_records.py``. The paths a mapping
names are checked by the pipeline's confinement (:mod:`migrate.extract.files.confinement`,
no reading code): the same rule on both sides, so neither reads a file the other refuses.
"""

from __future__ import annotations

import codecs
import csv
import importlib
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from migrate.errors import SchemaMismatch
from migrate.extract.files.confinement import confine, unset_variables
from migrate.extract.files.origins import mapping_dir
from migrate.spec.flatfile import FlatFile
from migrate.spec.model import EntitySpec

LINE = "_line"
_FIXED = "reconcile.reading.fixed_records"
_NOT_DECODED = re.compile("[\udc80-\udcff]")  # bytes ``surrogateescape`` kept undecoded


def file_path(spec: EntitySpec, workdir: Path) -> Path:
    f = spec.source.file
    assert f is not None
    raw = os.environ.get(f.env or "", "") or f.path
    path = Path(os.path.expandvars(raw))
    # absolute, '..' folded, but a symbolic link not followed: the confinement check sees
    # the path the mapping names, and refuses a link out of its folder
    return path if path.is_absolute() else Path(os.path.abspath(workdir / path))


def file_records(
    spec: EntitySpec, path: Path, base_dir: Path | None = None
) -> Iterator[dict[str, object]]:
    """Stream the extract's records as dicts; ``_line`` is the 1-based record number
    (header and blank lines not counted, as the pipeline counts). Every path the mapping
    names (the file, a copybook) is checked first: a mapping may not name any file."""
    f = spec.source.file
    assert f is not None
    folder = mapping_dir(spec.entity, base_dir)
    try:
        confine(f, path, folder)
    except SchemaMismatch as exc:
        raise SchemaMismatch(f"{spec.entity}: {exc}") from None
    if not path.exists():
        hint = unset_variables(f.path)
        raise SchemaMismatch(
            f"{spec.entity}: flat file not found: {path}" + (f";{hint}" if hint else "")
        )
    if f.fixed is not None:
        yield from _numbered(_fixed_records(f, path, folder))
        return
    yield from _numbered(_delimited(spec, f, path))


def _numbered(records: Iterator[dict[str, object]]) -> Iterator[dict[str, object]]:
    for number, record in enumerate(records, start=1):
        record[LINE] = number
        yield record


def _fixed_records(f: FlatFile, path: Path, base_dir: Path) -> Iterator[dict[str, object]]:
    try:
        module = importlib.import_module(_FIXED)
    except ModuleNotFoundError as exc:
        if exc.name != _FIXED:
            raise
        raise SchemaMismatch(
            f"{path.name}: reconciliation cannot read fixed-width files yet "
            "(reconcile/reading/fixed_records.py is missing)"
        ) from None
    records: Iterator[dict[str, object]] = module.fixed_records(f, path, base_dir)
    return records


_MARKS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


def _text(path: Path, f: FlatFile) -> IO[str]:
    with path.open("rb") as raw:
        start = raw.read(3)
    try:
        declared = codecs.lookup(f.encoding).name
    except LookupError:
        raise SchemaMismatch(f"{path.name}: unknown encoding {f.encoding!r}") from None
    for mark, family in _MARKS:
        if start.startswith(mark) and not declared.startswith(family):
            raise SchemaMismatch(
                f"{path.name}: a {family} byte-order mark in a file declared {f.encoding!r}"
            )
    try:
        fh = open(path, encoding=f.encoding, errors="surrogateescape", newline="")  # noqa: SIM115
    except LookupError:
        raise SchemaMismatch(f"{path.name}: unknown encoding {f.encoding!r}") from None
    head = fh.read(1)
    if head != "\ufeff":  # a byte-order mark is not part of the first name
        fh.seek(0)
    return fh


def _rows(fh: IO[str], f: FlatFile, path: Path) -> Iterator[tuple[int, list[str]]]:
    """(last physical line, fields) of each non-blank record."""
    options: dict[str, object] = {"delimiter": f.delimiter, "escapechar": f.escapechar}
    if f.quotechar is None:
        options["quoting"] = csv.QUOTE_NONE
    else:
        options["quotechar"] = f.quotechar
    options["strict"] = True  # a quote never closed must not swallow the records after it
    reader = csv.reader(fh, **options)  # type: ignore[arg-type]
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise SchemaMismatch(f"{path.name} line {reader.line_num}: {exc}") from None
        if fields and fields != [""]:
            yield reader.line_num, fields


def _names(spec: EntitySpec, f: FlatFile, path: Path, first: list[str] | None) -> list[str]:
    if not f.header:
        assert f.columns is not None
        return list(f.columns)
    found = [c.strip() for c in (first or [])]
    if f.columns is not None and found != list(f.columns):
        raise SchemaMismatch(
            f"{spec.entity}: {path.name}'s header {found} is not source.file.columns "
            f"{list(f.columns)}: the file cannot be read as the mapping declares it"
        )
    return found


def _delimited(spec: EntitySpec, f: FlatFile, path: Path) -> Iterator[dict[str, object]]:
    with _text(path, f) as fh:
        rows = _rows(fh, f, path)
        first = next(rows, None) if f.header else None
        names = _names(spec, f, path, None if first is None else first[1])
        keys = set(spec.source.key)
        for line, fields in rows:
            if len(fields) != len(names):  # which field is missing or extra is unknown
                note = f"<unreadable record ending on line {line}: {len(fields)} fields, "
                note += f"{len(names)} declared>"
                yield {
                    n: (_shown(fields[i]) if i < len(fields) else None) if n in keys else note
                    for i, n in enumerate(names)
                }
            elif any(_NUL in v for v in fields):  # no legacy value holds a NUL: unreadable
                note = f"<a NUL character on line {line}>"
                yield {
                    n: _controls_shown(v) if n in keys else (note if _NUL in v else v)
                    for n, v in zip(names, fields, strict=True)
                }
            elif _NOT_DECODED.search("".join(fields)):  # only the undecodable fields unread
                note = f"<bytes on line {line} not in encoding {f.encoding}>"
                yield {
                    n: _shown(v) if n in keys else (note if _NOT_DECODED.search(v) else v)
                    for n, v in zip(names, fields, strict=True)
                }
            else:
                yield dict(zip(names, fields, strict=True))


_NUL = "\x00"
_CONTROLS = frozenset([*map(chr, range(0, 9)), *map(chr, range(14, 32)), "\x7f"])


def _controls_shown(value: str) -> str:
    """A key part of a record holding a NUL, as the pipeline records it: control characters
    (but the six ASCII spaces) and undecodable bytes written ``\\xNN``."""
    return "".join(f"\\x{ord(c):02x}" if c in _CONTROLS else c for c in _shown(value))


def _shown(value: str) -> str:
    """A key part with undecodable bytes written ``\\xNN``, as the pipeline records it."""
    return _NOT_DECODED.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", value)
