"""Extract: legacy rows streamed in chunks that never split a group.

``chunks``        the chunk, cut so that it never splits a group
``database``      a database table or query in key order (server-side cursor), resumable and
                  cut into partitions
``flat_file``     a flat file's path and its records, in chunks
``arrow``         PostgreSQL's read path: ADBC ``COPY ... TO STDOUT`` as Arrow batches
``readahead``     one chunk read ahead of the transform, by a background thread
``files/``        flat-file extracts: delimited text, fixed-width records, COBOL copybooks
``named_columns`` every source column a mapping names, refused before the first row if missing
``sqlite_text``   SQLite text that is not UTF-8: a reject of its row, not a crash
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from migrate.extract.chunks import Chunk
    from migrate.extract.database import partition_bounds, read_database, source_selectable
    from migrate.extract.flat_file import read_file
    from migrate.extract.named_columns import refuse_missing
    from migrate.extract.readahead import read_ahead

__all__ = [
    "Chunk",
    "partition_bounds",
    "read_ahead",
    "read_database",
    "read_file",
    "refuse_missing",
    "source_selectable",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "Chunk": "chunks",
    "partition_bounds": "database",
    "read_ahead": "readahead",
    "read_database": "database",
    "read_file": "flat_file",
    "refuse_missing": "named_columns",
    "source_selectable": "database",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
