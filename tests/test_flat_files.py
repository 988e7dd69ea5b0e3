"""Files as legacy systems export them (issue 20, item 1): headerless, TAB, ``^`` quotes.

Each test writes a small mapping project (a payroll extract into ``WORKER_ANNUAL_PAY``,
SQLite staging), runs the real pipeline and the real reconciliation. Before: a headerless
file passed ``mappings check`` and ``migrate run`` died with ``KeyError``; a record with a
field too many was read shifted or stopped the run.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest

from migrate.config import Settings
from migrate.errors import SchemaMismatch
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.reading.files import file_records
from reconcile.report import EXCEPTIONS, FAIL, PASS, Reconciliation
from reconcile.run import reconcile_run

COLUMNS = "[EMP_ID, NAME, TITLE, DEPT, SALARY, GROSS]"
FILE = f"""    path: pay.tsv
    delimiter: "\\t"
    quotechar: "^"
    header: false
    columns: {COLUMNS}
"""
MEASURES = """reconcile:
  measures:
    - {name: salary, source_column: SALARY, source_encoding: decimal, target_column: ANNUAL_SALARY}
    - {name: gross, source_column: GROSS, source_encoding: decimal, target_column: GROSS_PAY}
"""


def mapping(file_block: str = FILE, measures: str = MEASURES, extra: str = "") -> str:
    return f"""entity: pay
domain: hr
source:
  system: payroll
  file:
{file_block}  key: [EMP_ID]
{extra}target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR: {{const: 2024}}
  RECORD_KEY: {{from: EMP_ID}}
  FULL_NAME: {{from: NAME}}
  LAST_NAME: {{from: NAME, steps: [upper]}}
  JOB_TITLE: {{from: TITLE}}
  DEPARTMENT_CODE: {{from: DEPT, steps: [strip, upper]}}
  ANNUAL_SALARY: {{from: SALARY, steps: [{{money: fixed}}]}}
  GROSS_PAY: {{from: GROSS, steps: [{{money: fixed}}]}}
{measures}"""


def write(tmp: Path, data: bytes, text: str | None = None) -> Path:
    (tmp / "mappings" / "hr").mkdir(parents=True, exist_ok=True)
    (tmp / "pay.tsv").write_bytes(data)
    (tmp / "mappings" / "hr" / "pay.yaml").write_text(text or mapping(), encoding="utf-8")
    return tmp / "mappings"


def settings_in(tmp: Path) -> Settings:
    return Settings(urls={"staging": f"sqlite:///{tmp / 'staging.db'}"}, workdir=tmp)


def run_and_reconcile(tmp: Path, mappings: Path) -> tuple[str, Reconciliation]:
    s = settings_in(tmp)
    run = run_migration(s, mappings, "full", chunk_size=2)
    return run.run_id, reconcile_run(s, load_project(mappings), run.run_id)


def staged(tmp: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp / "staging.db") as conn:
        return conn.execute(
            "SELECT RECORD_KEY, FULL_NAME, JOB_TITLE, DEPARTMENT_CODE, ANNUAL_SALARY, GROSS_PAY "
            "FROM WORKER_ANNUAL_PAY ORDER BY CAST(RECORD_KEY AS INTEGER)"
        ).fetchall()


def rejects(tmp: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp / "staging.db") as conn:
        return conn.execute(
            "SELECT SOURCE_KEY, COLUMN_NAME, REASON_CODE, OFFENDING_VALUE FROM MIG_REJECTS "
            "ORDER BY CAST(SOURCE_KEY AS INTEGER)"
        ).fetchall()


TSV = (
    b"101\t^Smith\tJr, Ann^\tClerk\ta01\t50000.00\t4100.50\n"
    b"\n"  # a blank line is no record
    b"102\t^O^^Brien, Pat^\tAnalyst\tA02\t61000.10\t5000.00\n"
    b"103\tLee, Kim\tDriver\tA01\t42000.00\t3500.25\n"
)


def test_headerless_tab_file_with_caret_quotes_is_read_by_its_declared_columns(
    tmp_path: Path,
) -> None:
    """Seen failing before: ``KeyError: 'EMP_ID'`` (the first record taken as a header)."""
    mappings = write(tmp_path, TSV)
    _, report = run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path) == [
        ("101", "Smith\tJr, Ann", "Clerk", "A01", 5000000, 410050),
        ("102", "O^Brien, Pat", "Analyst", "A02", 6100010, 500000),
        ("103", "Lee, Kim", "Driver", "A01", 4200000, 350025),
    ]
    (e,) = report.entities
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (3, 3, 0)
    assert e.measures[0].source == Decimal("153000.10")
    assert report.verdict == PASS, (e.failures, e.exceptions)


def test_a_record_with_a_wrong_field_count_is_rejected_never_read_shifted(
    tmp_path: Path,
) -> None:
    """An unquoted TAB in a name gives a field too many (record 2), a truncated record a
    field too few (record 3): each is rejected as unreadable_record with its field count,
    its neighbours load unchanged, and reconciliation counts it as a source row whose
    amounts it cannot know (UNVERIFIED: FAIL, never PASS with the row lost)."""
    data = (
        b"101\tSmith, Ann\tClerk\tA01\t50000.00\t4100.50\n"
        b"102\tO\tBrien, Pat\tAnalyst\tA02\t61000.10\t5000.00\n"
        b"103\tLee, Kim\tDriver\tA01\t42000.00\n"
        b"104\tPark, Jo\tClerk\tA02\t39000.00\t3000.00\n"
    )
    mappings = write(tmp_path, data)
    _, report = run_and_reconcile(tmp_path, mappings)
    assert [r[0] for r in staged(tmp_path)] == ["101", "104"]
    assert staged(tmp_path)[1] == ("104", "Park, Jo", "Clerk", "A02", 3900000, 300000)
    assert rejects(tmp_path) == [
        (
            "102",
            "_record",
            "unreadable_record",
            "7 fields where 6 are declared (record ends on line 2)",
        ),
        (
            "103",
            "GROSS",
            "unreadable_record",
            "5 fields where 6 are declared (record ends on line 3)",
        ),
    ]
    (e,) = report.entities
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (4, 2, 2)
    assert e.count_difference == 0
    salary = e.measures[0]
    assert salary.status == "UNVERIFIED" and salary.unreadable == 2
    assert report.verdict == FAIL


def test_without_measures_an_unreadable_record_is_an_exception_to_accept(tmp_path: Path) -> None:
    data = b"101\tSmith\tClerk\tA01\t1.00\t1.00\n102\tLee\tClerk\tA01\t1.00\n"
    mappings = write(tmp_path, data, mapping(measures=""))
    _, report = run_and_reconcile(tmp_path, mappings)
    (e,) = report.entities
    assert (e.source_rows, e.staged_rows, e.rejected_rows) == (2, 1, 1)
    assert [g.reason for g in e.rejects] == ["unreadable_record"]
    assert report.verdict == EXCEPTIONS


def test_bytes_the_encoding_cannot_decode_reject_their_record_not_the_run(tmp_path: Path) -> None:
    """A cp1252 name in a file declared utf-8: before, the run died with
    ``UnicodeDecodeError``. Now its record is rejected naming the field and the bytes; its
    amounts were read, so the totals hold and the verdict is EXCEPTIONS."""
    data = b"101\tJos\xe9 Diaz\tClerk\tA01\t1.00\t2.00\n102\tLee\tClerk\tA01\t3.00\t4.00\n"
    mappings = write(tmp_path, data)
    _, report = run_and_reconcile(tmp_path, mappings)
    assert rejects(tmp_path) == [
        (
            "101",
            "NAME",
            "unreadable_record",
            "bytes the declared encoding cannot decode: Jos\\xe9 Diaz",
        )
    ]
    (e,) = report.entities
    assert e.measures[0].rejected == Decimal("1.00") and e.measures[0].status == PASS
    assert report.verdict == EXCEPTIONS


def test_the_declared_encoding_reads_the_same_file(tmp_path: Path) -> None:
    data = b"101\tJos\xe9 Diaz\tClerk\tA01\t1.00\t2.00\n"
    mappings = write(tmp_path, data, mapping(FILE + "    encoding: cp1252\n"))
    _, report = run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path)[0][1] == "José Diaz"
    assert report.verdict == PASS


def test_a_header_must_agree_with_the_declared_columns(tmp_path: Path) -> None:
    """``header: true`` with ``columns``: the header is checked, never renamed or shifted."""
    from migrate.errors import SchemaMismatch

    block = (
        "    path: pay.tsv\n    delimiter: tab\n    header: true\n    columns: " + COLUMNS + "\n"
    )
    header = b"EMP_ID\tNAME\tTITLE\tDEPT\tGROSS\tSALARY\n"
    mappings = write(tmp_path, header + b"101\tA\tB\tA01\t1.00\t2.00\n", mapping(block))
    try:
        run_migration(settings_in(tmp_path), mappings, "full")
    except SchemaMismatch as exc:
        assert "header column 5 is 'GROSS', source.file.columns says 'SALARY'" in str(exc)
    else:
        raise AssertionError("a header that disagrees with columns was read")


def test_no_quoting_reads_quote_characters_as_data(tmp_path: Path) -> None:
    block = FILE.replace('quotechar: "^"', "quotechar: null")
    mappings = write(tmp_path, b'101\t"Ann\tClerk\tA01\t1.00\t2.00\n', mapping(block))
    _, report = run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path)[0][1] == '"Ann'
    assert report.verdict == PASS


def test_a_malformed_record_a_filter_would_drop_is_not_a_pass(tmp_path: Path) -> None:
    """Planted: a filter drops rows whose DEPT is blank, and a truncated record has no
    DEPT (no measures, so no unreadable amount fails it first). The transform filters
    before it rejects unreadable records, so the pipeline records it as filtered; the
    legacy record cannot be said to meet the filter, so reconciliation FAILs it as
    ``filtered_wrongly`` (never PASS with an unreadable record set aside)."""
    extra = "  filters:\n    - {name: no_dept, drop_when: {column: DEPT, is_blank: true}}\n"
    data = b"101\tSmith\tClerk\tA01\t1.00\t2.00\n102\tLee\tClerk\n"
    mappings = write(tmp_path, data, mapping(extra=extra, measures=""))
    _, report = run_and_reconcile(tmp_path, mappings)
    (e,) = report.entities
    assert e.source_rows == 2 and report.verdict != PASS
    if e.filtered_rows:  # until the transform rejects unreadable records before filtering
        assert [(d.source_key, d.kind) for d in e.differences] == [("102", "filtered_wrongly")]
        assert report.verdict == FAIL
    else:
        assert [g.reason for g in e.rejects] == ["unreadable_record"]


def test_reconciliation_reads_records_by_its_own_reader(tmp_path: Path) -> None:
    """reconcile/reading/files.py alone (no pipeline): the same records, numbered the same way."""
    mappings = write(tmp_path, TSV)
    spec = load_project(mappings).spec("pay")
    got = [(r["_line"], r["EMP_ID"], r["NAME"]) for r in file_records(spec, tmp_path / "pay.tsv")]
    assert got == [(1, "101", "Smith\tJr, Ann"), (2, "102", "O^Brien, Pat"), (3, "103", "Lee, Kim")]


def test_an_escape_character_makes_the_delimiter_data(tmp_path: Path) -> None:
    block = FILE.replace('quotechar: "^"', 'quotechar: null\n    escapechar: "\\\\"')
    data = b"101\tSmith\\\tJr\tClerk\tA01\t1.00\t2.00\n"
    mappings = write(tmp_path, data, mapping(block))
    _, report = run_and_reconcile(tmp_path, mappings)
    assert staged(tmp_path)[0][1] == "Smith\tJr"
    assert report.verdict == PASS


def test_a_quote_never_closed_swallows_no_record_silently(tmp_path: Path) -> None:
    """Planted: a stray ``^`` opens a quoted field that runs to the end of the file, over
    record 105. No record boundary after it can be trusted, so the run stops in one line
    naming the file and line, left resumable, instead of reading record 105 into a field
    (tests/test_review20_flatfiles.py: when the merged record had the declared field count,
    the verdict was PASS with records lost)."""
    data = TSV + b"104\t^Park, Jo\tClerk\tA02\t1.00\t2.00\n105\tKim\tClerk\tA02\t3.00\t4.00\n"
    mappings = write(tmp_path, data)
    with pytest.raises(SchemaMismatch, match=r"pay.tsv line \d+: unexpected end of data"):
        run_and_reconcile(tmp_path, mappings)
