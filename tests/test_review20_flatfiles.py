"""Review of issue 20 (flat files): both readers used Python ``csv``'s non-strict dialect, so
a malformed record was read the same wrong way on both sides and the verdict was PASS. Both
are strict now: a quote never closed, or text after a closing quote, stops the run in one
line (no record boundary can be trusted after it); a file that starts with a UTF byte-order
mark but is declared in another encoding is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import MigrationError
from tests.test_flat_files import (
    COLUMNS,
    FILE,
    mapping,
    rejects,
    run_and_reconcile,
    staged,
    write,
)

LAST_IS_TEXT = FILE.replace(COLUMNS, "[EMP_ID, TITLE, DEPT, SALARY, GROSS, NAME]")


def test_a_quote_opened_in_the_last_column_and_never_closed_is_not_a_pass(
    tmp_path: Path,
) -> None:
    data = (
        b"101\tClerk\tA01\t50000.00\t4100.50\tSmith\n"
        b"102\tClerk\tA01\t60000.00\t5100.50\t^Lee\n"  # stray ^, never closed
        b"103\tClerk\tA01\t70000.00\t6100.50\tPark\n"
        b"104\tClerk\tA01\t80000.00\t7100.50\tKim\n"
    )
    mappings = write(tmp_path, data, mapping(LAST_IS_TEXT))
    # Before: source_rows 2, staged 2, salary 110,000.00 = 110,000.00, verdict PASS, and
    # record 102's NAME held the text of records 103 and 104.
    with pytest.raises(MigrationError, match="unexpected end of data"):
        run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path) == [] or len(staged(tmp_path)) < 2, rejects(tmp_path)


def test_text_after_a_closing_quote_is_not_read_silently(tmp_path: Path) -> None:
    data = b"101\t^Park^x\tClerk\tA02\t1.00\t2.00\n"
    mappings = write(tmp_path, data)
    with pytest.raises(MigrationError, match="expected after"):
        run_and_reconcile(tmp_path, mappings)


def test_a_utf8_byte_order_mark_in_a_file_declared_cp1252_is_not_a_pass(
    tmp_path: Path,
) -> None:
    from tests.test_flat_files import TSV

    data = b"\xef\xbb\xbf" + TSV.replace(b"Smith", b"Jos\xc3\xa9")
    mappings = write(tmp_path, data, mapping(FILE + "    encoding: cp1252\n"))
    with pytest.raises(MigrationError, match="UTF-8 byte-order mark"):
        run_and_reconcile(tmp_path, mappings)
