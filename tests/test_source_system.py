"""A table or query source reads one of the named connections; any other system name is a
mapping error at its line, offline (it used to pass `mappings check --offline` and stop the
run with "unknown connection"). A file source may name any system."""

from __future__ import annotations

from pathlib import Path

import pytest

from migrate.errors import SpecErrors
from migrate.spec.loader import load_project

MAPPING = """entity: pay
domain: hr
source:
  system: {system}
  {origin}
  key: [EMP_ID]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR: {{const: 2024}}
  RECORD_KEY: {{from: EMP_ID}}
"""


def _project(tmp: Path, system: str, origin: str) -> Path:
    folder = tmp / "mappings" / "hr"
    folder.mkdir(parents=True)
    (folder / "pay.yaml").write_text(MAPPING.format(system=system, origin=origin))
    return tmp / "mappings"


def test_a_table_source_of_no_connection_is_an_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(SpecErrors) as err:
        load_project(_project(tmp_path, "hrr", "table: PAY"))
    text = str(err.value)
    assert "pay.yaml:4" in text and "source.system" in text, text
    assert "(did you mean 'hr'?)" in text


def test_a_file_source_may_name_any_system(tmp_path: Path) -> None:
    project = load_project(_project(tmp_path, "payroll", "file: {path: pay.csv}"))
    assert project.spec("pay").source.system == "payroll"
