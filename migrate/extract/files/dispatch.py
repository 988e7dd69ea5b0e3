"""Pick the reader a flat-file source declares, and number its records.

Delimited text is read by :mod:`migrate.extract.files.delimited`; a fixed-width file (``fixed:``)
by :mod:`migrate.extract.files.fixed`, imported only when such a file is read. Either yields text
frames in file order; ``_line``, the 1-based record number (header and blank lines not
counted), is added here the same way for both.

Every path the source names (its file, a layout's copybook) is checked by
:mod:`migrate.extract.files.confinement` before any reader opens a file (issue 22, item 11);
its names are re-exported here, where the settings loader and ``mappings check`` find them.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd

from migrate.errors import SchemaMismatch
from migrate.extract.files.confinement import (
    ROOTS_ENV,
    confine,
    declare_roots,
    declared_roots,
)
from migrate.extract.files.delimited import columns_of, delimited_frames
from migrate.spec.flatfile import FlatFile

LINE = "_line"
_FIXED = "migrate.extract.files.fixed"
__all__ = ["ROOTS_ENV", "confine", "declare_roots", "declared_roots", "file_columns", "read_frames"]


def _fixed() -> ModuleType:
    """The fixed-width reader, or a one-line error while it does not exist."""
    try:
        return importlib.import_module(_FIXED)
    except ModuleNotFoundError as exc:
        if exc.name != _FIXED:
            raise
        raise SchemaMismatch(
            "fixed-width files cannot be read yet: this installation has no fixed-width "
            "reader (migrate/extract/files/fixed.py)"
        ) from None


def read_frames(f: FlatFile, path: Path, chunk_size: int, base_dir: Path) -> Iterator[pd.DataFrame]:
    """The file's records as text frames of ``chunk_size`` rows, ``_line`` first."""
    confine(f, path, base_dir)
    if not path.exists():
        raise SchemaMismatch(f"flat file not found: {path}")
    if f.fixed is not None:
        frames: Iterator[pd.DataFrame] = _fixed().fixed_frames(f, path, chunk_size, base_dir)
    else:
        frames = delimited_frames(f, path, chunk_size)
    start = 0
    for frame in frames:
        frame.insert(0, LINE, range(start + 1, start + 1 + len(frame)))
        start += len(frame)
        yield frame


def file_columns(f: FlatFile, path: Path, base_dir: Path) -> list[str]:
    """The columns a mapping may name: the layout's fields, the header's names, or the
    declared ``columns`` (``_line`` is always there too)."""
    confine(f, path, base_dir)
    if f.fixed is not None:
        names: list[str] = list(_fixed().layout_columns(f, base_dir))
        return names
    return columns_of(f, path)
