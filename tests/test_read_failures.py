"""A record its reader could not read is rejected with the field and the raw value."""

import pandas as pd

from migrate.transform.failures import (
    READ_COLUMN,
    READ_REASON,
    READ_VALUE,
    Failures,
    add_read_failures,
)


def test_marked_rows_are_rejected_with_their_field_and_value() -> None:
    rows = pd.DataFrame(
        {
            "A": ["1", "2", "3"],
            READ_REASON: [None, "unreadable_record", None],
            READ_COLUMN: [None, "GROSS", None],
            READ_VALUE: [None, "x'1A2B'", None],
        }
    )
    failures = Failures(rows.index)
    add_read_failures(rows, failures)
    got = failures.to_frame()[["row", "column", "reason", "value"]].values.tolist()
    assert got == [[1, "GROSS", "unreadable_record", "x'1A2B'"]]
