"""Reconciliation's own reading of a flat-file extract (Python's ``csv``, not the pipeline's
pandas reader): the legacy side of an entity whose source is a file."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path

from migrate.spec.model import EntitySpec

LINE = "_line"


def file_path(spec: EntitySpec, workdir: Path) -> Path:
    f = spec.source.file
    assert f is not None
    raw = os.environ.get(f.env or "", "") or f.path
    path = Path(os.path.expandvars(raw))
    return path if path.is_absolute() else (workdir / path).resolve()


def file_records(spec: EntitySpec, path: Path) -> Iterator[dict[str, object]]:
    """Stream a CSV extract; ``_line`` is the 1-based data row (blank lines not counted)."""
    f = spec.source.file
    assert f is not None
    with path.open(encoding=f.encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=f.delimiter, quotechar=f.quotechar)
        header = [c.strip().lstrip("\ufeff") for c in next(reader, [])]
        line = 0
        for fields in reader:
            if not fields or fields == [""]:
                continue
            line += 1
            record: dict[str, object] = dict(zip(header, fields, strict=False))
            record[LINE] = line
            yield record
