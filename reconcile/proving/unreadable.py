"""Records reconciliation's own reader could not read must have been rejected.

A record reconciliation's file reader cannot read (``reconcile/reading/fixed_records.py``: a bad
sign, a letter in a packed field, a short record) is yielded with ``_read_reason`` set. The
row diff restates the mapped fields from such a record (its unreadable ones hold their raw
bytes, which no step reads), but a field no mapping uses would not be compared: so every
marked record's key must be among the run's rejected keys (or set aside by a named filter,
whose own restatement is ``filtered.py``'s); any other is a ``changed`` difference naming
the field and its bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from migrate.spec.model import EntitySpec
from reconcile.reading.files import file_path, file_records
from reconcile.reading.sources import key_string
from reconcile.reading.staging_side import Outcomes
from reconcile.report import RowDifference

READ_REASON, READ_COLUMN, READ_VALUE = "_read_reason", "_read_column", "_read_value"


def marked_records(spec: EntitySpec, workdir: Path | None) -> Iterator[tuple[str, str, str]]:
    """(source key, field, bytes shown) of each source record marked unreadable."""
    f = spec.source.file
    if f is None or workdir is None:
        return
    for record in file_records(spec, file_path(spec, workdir)):
        if record.get(READ_REASON) is not None:
            key = key_string([record.get(c) for c in spec.source.key])
            yield key, str(record.get(READ_COLUMN)), str(record.get(READ_VALUE))


def unreadable_differences(
    spec: EntitySpec, name: str, done: Outcomes, workdir: Path | None
) -> Iterator[RowDifference]:
    """A ``changed`` difference for each marked record that was neither rejected nor
    filtered (staged, or missing: the main row diff reports a missing one too)."""
    rejected = set(done.rejected)
    filtered = {key for _, key in done.filtered}
    for key, column, shown in marked_records(spec, workdir):
        if key not in rejected and key not in filtered:
            yield RowDifference(
                name,
                key,
                "changed",
                column,
                f"(unreadable record: {shown})",
                "(not rejected)",
            )
