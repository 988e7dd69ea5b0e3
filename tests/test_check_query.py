"""``mappings check`` checks a query source's columns too (the query run for no row): a
column the query does not return is reported at its line, before any run. Before: "mappings
OK", then ``KeyError: 'GROSS'`` in the run (now also one line, see
tests/test_flat_files_check.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cli.main import main

MAPPING = """entity: q
domain: hr
source:
  system: finance
  query: SELECT ID, NAME, GROSS AS GROSS_AMT FROM PAY
  key: [ID]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR: {const: 2024}
  RECORD_KEY: {from: ID}
  FULL_NAME: {from: NAME}
  LAST_NAME: {from: NAME}
  JOB_TITLE: {from: NAME}
  DEPARTMENT_CODE: {from: NAME}
  ANNUAL_SALARY: {from: GROSS, steps: [{money: fixed}]}
"""


def test_a_column_the_query_does_not_return_is_reported_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(tmp_path / "legacy.db") as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT)")
    (tmp_path / "migrate.toml").write_text(
        f'[connections]\nfinance = "sqlite:///{tmp_path / "legacy.db"}"\n', encoding="utf-8"
    )
    (tmp_path / "mappings" / "hr").mkdir(parents=True)
    (tmp_path / "mappings" / "hr" / "q.yaml").write_text(MAPPING, encoding="utf-8")
    args = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    assert main([*args, "mappings", "check"]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "mappings/hr/q.yaml:17 fields.ANNUAL_SALARY.from: the query returns no column 'GROSS' "
        "(did you mean 'GROSS_AMT'?)",
        "1 problem(s)",
    ]
