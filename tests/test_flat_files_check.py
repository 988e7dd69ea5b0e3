"""``mappings check`` checks a file's columns, and a run never ends in a traceback (issue
20, item 3).

Before: ``from: GROSS`` where the file says ``Gross`` passed the check ("mappings OK") and
the run died with a 64-line pandas traceback, leaving the run ``failed``.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from cli.main import main
from migrate.errors import RunFailed
from migrate.runs import pipeline

HEADER = b"EmpId\tName\tTitle\tDept\tSalary\tGross\n"
ROWS = (
    b"101\tSmith, Ann\tClerk\tA01\t50000.00\t4100.50\n"
    b"102\tBrien, Pat\tAnalyst\tA02\t61000.10\t5000.00\n"
    b"103\tLee, Kim\tDriver\tA01\t42000.00\t3500.25\n"
    b"104\tPark, Jo\tClerk\tA02\t39000.00\t3000.00\n"
)

MAPPING = """entity: pay
domain: hr
source:
  system: payroll
  file:
    path: pay.tsv
    delimiter: "\\t"
  key: [EmpId]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR:
    const: 2024
  RECORD_KEY:
    from: EmpId
  FULL_NAME:
    from: Name
  LAST_NAME:
    from: Name
    steps: [upper]
  JOB_TITLE:
    from: Title
  DEPARTMENT_CODE:
    from: Dept
  ANNUAL_SALARY:
    from: Salary
    steps: [{money: fixed}]
  GROSS_PAY:
    from: Gross
    steps: [{money: fixed}]
reconcile:
  measures:
    - name: gross
      source_column: Gross
      source_encoding: decimal
      target_column: GROSS_PAY
"""


def project(tmp: Path, mapping: str = MAPPING, data: bytes = HEADER + ROWS) -> Path:
    (tmp / "mappings" / "hr").mkdir(parents=True, exist_ok=True)
    (tmp / "mappings" / "hr" / "pay.yaml").write_text(mapping, encoding="utf-8")
    (tmp / "pay.tsv").write_bytes(data)
    return tmp / "mappings"


def cli(tmp: Path, *args: str) -> int:
    return main(["--workdir", str(tmp), "--mappings", str(tmp / "mappings"), *args])


def line_of(text: str, needle: str) -> int:
    return text.splitlines().index(needle) + 1


def test_check_reports_a_file_column_at_its_line_with_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seen failing before: "mappings OK"."""
    wrong = MAPPING.replace("    from: Gross\n", "    from: GROSS\n").replace(
        "source_column: Gross", "source_column: GROSS"
    )
    project(tmp_path, wrong)
    assert line_of(wrong, "    from: GROSS") == 30
    assert line_of(wrong, "      source_column: GROSS") == 35
    assert cli(tmp_path, "mappings", "check") == 1
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "mappings/hr/pay.yaml:30 fields.GROSS_PAY.from: pay.tsv has no column 'GROSS' "
        "(did you mean 'Gross'?)",
        "mappings/hr/pay.yaml:35 reconcile.measures.0.source_column: pay.tsv has no column "
        "'GROSS' (did you mean 'Gross'?)",
        "2 problem(s)",
    ]


def test_check_reads_the_header_with_the_declared_dialect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Read with the default comma, the TAB header would be one column named
    'EmpId\\tName...': every column reported. Read as declared, the mapping is OK."""
    project(tmp_path)
    assert cli(tmp_path, "mappings", "check") == 0
    assert capsys.readouterr().out.strip() == "mappings OK"


def test_check_of_a_headerless_file_uses_the_declared_columns_even_without_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = MAPPING.replace(
        '    delimiter: "\\t"\n',
        '    delimiter: "\\t"\n    header: false\n'
        "    columns: [EmpId, Name, Title, Dept, Salary, GrossPay]\n",
    )
    project(tmp_path, declared, ROWS)
    (tmp_path / "pay.tsv").unlink()
    assert cli(tmp_path, "mappings", "check") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        f"mappings/hr/pay.yaml:6 source.file.path: flat file not found: "
        f"{tmp_path / 'pay.tsv'} (checked as declared)"
    )
    assert out[1].startswith("mappings/hr/pay.yaml:32 fields.GROSS_PAY.from: pay.tsv has no ")
    assert out[1].endswith("column 'Gross' (did you mean 'GrossPay'?)")


def test_check_reports_a_header_that_disagrees_with_declared_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    declared = MAPPING.replace(
        '    delimiter: "\\t"\n',
        '    delimiter: "\\t"\n    columns: [EmpId, Name, Title, Dept, Gross, Salary]\n',
    )
    project(tmp_path, declared)
    assert cli(tmp_path, "mappings", "check") == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "mappings/hr/pay.yaml:8 source.file.columns: pay.tsv: header column 5 is 'Salary', "
        "source.file.columns says 'Gross'"
    )


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    """The error's one line (the progress lines printed before it aside), no traceback."""
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1] == errors[0]
    return errors[0]


def _run_id(line: str) -> str:
    found = re.search(r"migrate resume (\w+)$", line)
    assert found, line
    return found.group(1)


def test_a_file_changed_after_the_check_stops_the_run_in_one_line_and_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path)
    assert cli(tmp_path, "mappings", "check") == 0
    (tmp_path / "pay.tsv").write_bytes(HEADER.replace(b"Gross", b"GROSS") + ROWS)
    capsys.readouterr()
    assert cli(tmp_path, "run", "--chunk-size", "2") == 2
    line = _one_error_line(capsys)
    run_id = _run_id(line)
    assert line == (
        "error: pay: pay.tsv has no column 'Gross' (did you mean 'GROSS'?), named at "
        f"fields.GROSS_PAY.from (and 1 more); run {run_id} is left resumable: fix the cause, "
        f"then migrate resume {run_id}"
    )
    (tmp_path / "pay.tsv").write_bytes(HEADER + ROWS)  # the right extract back
    assert cli(tmp_path, "resume", run_id, "--chunk-size", "2") == 0
    assert cli(tmp_path, "reconcile", run_id) == 0


def test_an_unforeseen_exception_is_one_line_naming_entity_records_and_the_run_resumes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A defect planted in the transform of the second chunk: before, a traceback."""
    project(tmp_path)
    real = pipeline.transform

    def broken(spec: object, rows: object, *args: object, **kwargs: object) -> object:
        if 3 in list(getattr(rows, "_line", [])):  # the second chunk: records 2 to 4
            raise ValueError("cannot convert 'x' (planted)\nsecond line of the message")
        return real(spec, rows, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "transform", broken)
    assert cli(tmp_path, "run", "--chunk-size", "2") == 2
    line = _one_error_line(capsys)
    run_id = _run_id(line)
    assert line == (
        "error: pay (mappings/hr/pay.yaml), batch 2, records 2-4 of the file (3): ValueError: "
        f"cannot convert 'x' (planted); run {run_id} is left resumable: fix the cause, then "
        f"migrate resume {run_id}"
    )
    debug = ["--debug", "--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    with pytest.raises(RunFailed):  # --debug: the exception itself, with its traceback
        main([*debug, "resume", run_id, "--chunk-size", "2"])
    monkeypatch.setattr(pipeline, "transform", real)
    assert cli(tmp_path, "resume", run_id, "--chunk-size", "2") == 0
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        batches = conn.execute(
            "SELECT BATCH_ID FROM MIG_PROGRESS WHERE RUN_ID = ? ORDER BY 1", (run_id,)
        ).fetchall()
    assert batches == [(1,), (2,)]  # the first chunk was committed once, not redone
    assert cli(tmp_path, "reconcile", run_id) == 0


def test_a_headerless_file_read_as_if_it_had_a_header_is_named_as_such(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's case: a headerless extract, nothing declared. Before: "mappings OK", then
    ``KeyError: 'EmpId'``. Now every column is reported, and the first line says why."""
    project(tmp_path, data=ROWS)
    assert cli(tmp_path, "mappings", "check") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        "mappings/hr/pay.yaml:5 source.file: pay.tsv: its first record (6 fields) names none "
        "of the columns the mapping names: if the file has no header row, declare header: "
        "false and its columns in order"
    )
    assert out[1] == "mappings/hr/pay.yaml:8 source.key.0: pay.tsv has no column 'EmpId'"
    assert cli(tmp_path, "run") == 2
    assert "declare header: false and its columns in order; run " in _one_error_line(capsys)


def test_any_other_exception_on_the_command_line_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import reconcile.run

    def broken(*args: object, **kwargs: object) -> int:
        raise KeyError("planted")

    project(tmp_path)
    assert cli(tmp_path, "run") == 0  # a run to reconcile: the command gets past its checks
    capsys.readouterr()
    monkeypatch.setattr(reconcile.run, "reconcile_command", broken)
    assert cli(tmp_path, "reconcile") == 2
    assert _one_error_line(capsys) == "error: KeyError: 'planted' (--debug shows where)"
    with pytest.raises(KeyError):
        main(
            [
                "--debug",
                "--workdir",
                str(tmp_path),
                "--mappings",
                str(tmp_path / "mappings"),
                "reconcile",
            ]
        )
