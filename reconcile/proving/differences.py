"""Row differences kept as evidence without holding them all: the first of each kind for the
workbook and the JSON, exact counts, and every one of them for a CSV file beside them.

A failing reconciliation can find hundreds of thousands of differences; as Python objects,
openpyxl cells and JSON text they once took gigabytes. :func:`keep` reads them one at a time,
keeps the first :data:`LISTED_PER_KIND` of each kind (missing, unexpected, changed), counts
all, and writes all to zlib-compressed CSV lines (a few bytes each);
:func:`write_differences_csv` writes the file with its SHA-256. Values are written as
found (a NUL, a leading ``=`` included); only a byte no reader could decode, kept as a lone
surrogate, is written as ``\\udcff``, the notation of the workbook and the CLI.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from reconcile.report import EntityReconciliation, Reconciliation, RowDifference

LISTED_PER_KIND = 1_000
KINDS = ("missing", "unexpected", "changed")
CSV_COLUMNS = ("entity", "source_key", "kind", "column", "source_value", "staged_value")
_FLUSH = 1 << 16


@dataclass(frozen=True)
class Kept:
    """What the report holds of an entity's differences."""

    listed: tuple[RowDifference, ...]  # the first ``per_kind`` of each kind, in order found
    kinds: tuple[tuple[str, int], ...]  # (kind, how many found), in :data:`KINDS` order
    count: int
    csv: bytes  # every difference, as compressed CSV lines (no header)


@dataclass(frozen=True)
class DifferencesFile:
    """The CSV as written: its SHA-256 and how many differences it holds."""

    sha256: str
    rows: int


def keep(found: Iterable[RowDifference], per_kind: int | None = None) -> Kept:
    """Read ``found`` once: list the first ``per_kind`` (default :data:`LISTED_PER_KIND`)
    of each kind, count all, compress all."""
    per_kind = LISTED_PER_KIND if per_kind is None else per_kind
    counts: Counter[str] = Counter()
    listed: list[RowDifference] = []
    packer = zlib.compressobj(6)
    packed: list[bytes] = []
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    for d in found:
        counts[d.kind] += 1
        if counts[d.kind] <= per_kind:
            listed.append(d)
        writer.writerow(_cells(d))
        if text.tell() >= _FLUSH:
            packed.append(packer.compress(_utf8(text.getvalue())))
            text.seek(0)
            text.truncate()
    packed.append(packer.compress(_utf8(text.getvalue())))
    packed.append(packer.flush())
    order = [k for k in KINDS if k in counts] + sorted(set(counts) - set(KINDS))
    kinds = tuple((k, counts[k]) for k in order)
    return Kept(tuple(listed), kinds, sum(counts.values()), b"".join(packed) if counts else b"")


def _utf8(text: str) -> bytes:
    """UTF-8; a byte a legacy reader kept as a lone surrogate (``surrogateescape``) is
    written as the workbook shows it, ``\\udcff`` (it raised UnicodeEncodeError: no verdict)."""
    return text.encode("utf-8", errors="backslashreplace")


def _cells(d: RowDifference) -> tuple[str, ...]:
    values = (d.entity, d.source_key, d.kind, d.column, d.source_value, d.staged_value)
    return tuple("" if v is None else v for v in values)


def kinds_of(e: EntityReconciliation) -> tuple[tuple[str, int], ...]:
    """(kind, found) for an entity: recorded counts, else counted from its list."""
    if e.difference_kinds:
        return e.difference_kinds
    counts = Counter(d.kind for d in e.differences)
    return tuple((k, counts[k]) for k in KINDS if counts[k])


def csv_lines(report: Reconciliation) -> Iterator[bytes]:
    """The CSV file's bytes in pieces: the header, then each entity's differences (all of
    them where the entity kept them, else those it lists)."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerow(CSV_COLUMNS)
    yield text.getvalue().encode("utf-8")
    for e in report.entities:
        if e.differences_csv:
            unpack = zlib.decompressobj()
            for start in range(0, len(e.differences_csv), _FLUSH):
                yield unpack.decompress(e.differences_csv[start : start + _FLUSH])
            yield unpack.flush()
            continue
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        for d in e.differences:
            writer.writerow(_cells(d))
        yield _utf8(text.getvalue())


def csv_rows(report: Reconciliation) -> int:
    """How many differences :func:`csv_lines` writes."""
    return sum(
        e.differences_found if e.differences_csv else len(e.differences) for e in report.entities
    )


def differences_file(report: Reconciliation) -> DifferencesFile:
    """The CSV's SHA-256 and size without writing it (the workbook names it by its hash)."""
    digest = hashlib.sha256()
    for piece in csv_lines(report):
        digest.update(piece)
    return DifferencesFile(digest.hexdigest(), csv_rows(report))


def write_differences_csv(report: Reconciliation, path: Path) -> DifferencesFile:
    """Write every difference to ``path`` (a new file: an existing one is never replaced)."""
    digest = hashlib.sha256()
    with path.open("xb") as fh:
        for piece in csv_lines(report):
            digest.update(piece)
            fh.write(piece)
    return DifferencesFile(digest.hexdigest(), csv_rows(report))
