"""A value rule the target column's type cannot take is a mapping error, found before data."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pandera.pandas as pa
import pytest

from migrate.config import load_settings
from migrate.errors import TerminalError
from migrate.spec.loader import load_project
from migrate.staging.tables import build_metadata
from migrate.transform.failures import Failures
from migrate.validate.lint import check_mappings
from migrate.validate.schema import compile_schema, validate

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


def _with_pattern_on_money(tmp_path: Path) -> Path:
    mappings = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, mappings)
    path = mappings / "finance" / "ap_invoice_lines.yaml"
    text = path.read_text()
    assert "    min: 0\n  QUANTITY_INVOICED:" in text
    path.write_text(
        text.replace(
            "    min: 0\n  QUANTITY_INVOICED:",
            "    min: 0\n    pattern: '^[0-9]+$'\n  QUANTITY_INVOICED:",
        )
    )
    return mappings


def test_mappings_check_names_file_line_and_why(tmp_path: Path) -> None:
    mappings = _with_pattern_on_money(tmp_path)
    problems = check_mappings(load_settings(tmp_path), mappings, live=False)
    hits = [p for p in problems if "pattern needs a text column" in p]
    assert len(hits) == 1, problems
    assert "ap_invoice_lines.yaml:23" in hits[0]
    assert "AP_INVOICE_LINES_INTERFACE.AMOUNT" in hits[0]
    assert "money" in hits[0]


def test_a_run_stops_before_its_first_chunk(tmp_path: Path) -> None:
    project = load_project(_with_pattern_on_money(tmp_path))
    spec = project.spec("ap_invoice_lines")
    table = build_metadata().tables[spec.target.table]
    with pytest.raises(TerminalError, match=r"ap_invoice_lines: fields\.AMOUNT\.pattern"):
        compile_schema(spec, table)


def test_a_check_that_cannot_run_stops_with_a_clear_error() -> None:
    """Timestamps with a time zone against a bound without one: the comparison raises, and
    the entity stops naming the check and column, without the values."""
    schema = pa.DataFrameSchema(
        {"DAY": pa.Column(checks=[pa.Check.ge(pd.Timestamp("2020-01-01"), error="out_of_range")])},
        name="demo",
    )
    frame = pd.DataFrame({"DAY": pd.to_datetime(["2024-05-01 10:00"]).tz_localize("UTC")})
    with pytest.raises(TerminalError, match="demo: the out_of_range check on DAY") as info:
        validate(schema, frame, frame, Failures(frame.index))
    assert "2024" not in str(info.value)
