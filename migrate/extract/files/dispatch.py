"""Pick the reader a flat-file source declares, and number its records.

Delimited text is read by :mod:`migrate.extract.files.delimited`; a fixed-width file (``fixed:``)
by :mod:`migrate.extract.files.fixed`, imported only when such a file is read. Either yields text
frames in file order; ``_line``, the 1-based record number (header and blank lines not
counted), is added here the same way for both.

A mapping may not name any file on the machine (issue 22, item 11: ``../../..`` to the
system's password file was staged). The mapping's text is the part to distrust; the
operator's environment and ``migrate.toml`` are trusted. So a file's ``path:`` must be
relative to the working folder without ``..``, or start with a ``${MIGRATE_...}`` variable
(the folder it names is the root; no ``..`` after it), or its ``env:`` variable is set (the
operator names the file), or it lies under a root the operator declared: ``[safety]
file_roots`` in ``migrate.toml`` or ``MIGRATE_FILE_ROOTS`` (folders separated by ``:``).
:func:`confine` checks it before any reader opens the file, and ``mappings check`` says it
at the mapping's ``path:`` line.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import ModuleType

import pandas as pd

from migrate.errors import SchemaMismatch
from migrate.extract.files.delimited import columns_of, delimited_frames
from migrate.spec.flatfile import FlatFile

LINE = "_line"
_FIXED = "migrate.extract.files.fixed"
ROOTS_ENV = "MIGRATE_FILE_ROOTS"
_LEADING_VAR = re.compile(r"^\$(?:\{(MIGRATE_\w+)\}|(MIGRATE_\w+))(.*)$", re.S)
_DECLARED: list[Path] = []


def declare_roots(roots: Iterable[Path]) -> None:
    """The folders ``[safety] file_roots`` declares (the settings loader calls this)."""
    _DECLARED[:] = [Path(r).resolve() for r in roots]


def declared_roots() -> list[Path]:
    """``[safety] file_roots`` and ``MIGRATE_FILE_ROOTS``, resolved."""
    extra = [Path(p).resolve() for p in os.environ.get(ROOTS_ENV, "").split(os.pathsep) if p]
    return [*_DECLARED, *extra]


def confine(f: FlatFile, path: Path) -> None:
    """Refuse a file the mapping's text may not name (see the module's docstring)."""
    if f.env and os.environ.get(f.env):
        return  # the operator named the file itself
    raw = f.path.replace("\\", "/")
    leading = _LEADING_VAR.match(raw)
    if leading is not None:
        rest = leading.group(3)
        if "$" not in rest and ".." not in Path(rest.lstrip("/")).parts:
            return
    elif "$" not in raw and not Path(raw).is_absolute() and ".." not in Path(raw).parts:
        return
    resolved = path.resolve()
    if any(resolved.is_relative_to(root) for root in declared_roots()):
        return
    raise SchemaMismatch(
        f"flat file {f.path!r} is outside the folders a mapping may read ({resolved}): "
        "name it relative to the working folder without '..', or declare its folder in "
        f"[safety] file_roots of migrate.toml or {ROOTS_ENV}"
    )


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
    confine(f, path)
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
    confine(f, path)
    if f.fixed is not None:
        names: list[str] = list(_fixed().layout_columns(f, base_dir))
        return names
    return columns_of(f, path)
