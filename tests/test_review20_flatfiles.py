"""Review of issue 20 (flat files): both readers share Python ``csv``'s non-strict dialect,
so a malformed record is read the same wrong way on both sides and the verdict is PASS.

Demonstrations for the lead: each is a strict xfail on HEAD, to unmark once fixed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reconcile.report import PASS
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


@pytest.mark.xfail(
    strict=True,
    reason="review20: csv.reader(strict=False) on both sides accepts end of file inside a "
    "quoted field; a stray quote in the LAST column swallows every later record into one "
    "field of the declared count, and the verdict is PASS with records 103 and 104 lost",
)
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
    _, report = run_and_reconcile(tmp_path, mappings)
    (e,) = report.entities
    # On HEAD: source_rows 2, staged 2, salary 110,000.00 = 110,000.00, verdict PASS,
    # and record 102's NAME holds the text of records 103 and 104.
    assert report.verdict != PASS, (e.source_rows, staged(tmp_path), rejects(tmp_path))


@pytest.mark.xfail(
    strict=True,
    reason="review20: a quote closed in the middle of a field (^Park^x) is malformed, yet "
    "both readers (non-strict csv) read it as 'Parkx' and the record loads; PASS",
)
def test_text_after_a_closing_quote_is_not_read_silently(tmp_path: Path) -> None:
    data = b"101\t^Park^x\tClerk\tA02\t1.00\t2.00\n"
    mappings = write(tmp_path, data)
    _, report = run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path)[0][1] != "Parkx" or report.verdict != PASS


@pytest.mark.xfail(
    strict=True,
    reason="review20: a UTF-8 file (with its byte-order mark) declared cp1252 is decoded the "
    "same wrong way by both readers: the BOM becomes part of the first key ('ï»¿101') and "
    "'José' is staged as 'JosÃ©'; the verdict is PASS",
)
def test_a_utf8_byte_order_mark_in_a_file_declared_cp1252_is_not_a_pass(
    tmp_path: Path,
) -> None:
    from tests.test_flat_files import TSV

    data = b"\xef\xbb\xbf" + TSV.replace(b"Smith", b"Jos\xc3\xa9")
    mappings = write(tmp_path, data, mapping(FILE + "    encoding: cp1252\n"))
    _, report = run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path)[0][0] == "101" or report.verdict != PASS
