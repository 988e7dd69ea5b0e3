"""docs/how-to/flat-file-extract.md: its file and its mapping, exactly as written, run end to
end (check, run, reconcile) on SQLite staging."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "flat-file-extract.md"
_BLOCK = re.compile(r"<!-- flat-file-extract: (data|mapping) (\S+) -->\n```\w+\n(.*?)```", re.S)


def write_examples(tmp: Path) -> Path:
    """The doc's data file into the working folder, its mapping under mappings/."""
    blocks = _BLOCK.findall(DOC.read_text(encoding="utf-8"))
    assert sorted(kind for kind, _, _ in blocks) == ["data", "mapping"]
    for kind, name, body in blocks:
        path = tmp / name if kind == "data" else tmp / "mappings" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(body, encoding="utf-8")
    return tmp / "mappings"


def test_the_headerless_example_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = write_examples(tmp_path)
    assert "\t" in (tmp_path / "pay_2024.tsv").read_text(encoding="utf-8")
    base = ["--workdir", str(tmp_path), "--mappings", str(mappings)]
    assert main([*base, "mappings", "check"]) == 0
    assert main([*base, "run"]) == 0
    assert main([*base, "reconcile"]) == 0
    assert "verdict: PASS" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        rows = conn.execute(
            "SELECT RECORD_KEY, FULL_NAME, JOB_TITLE, DEPARTMENT_CODE, GROSS_PAY "
            "FROM WORKER_ANNUAL_PAY ORDER BY RECORD_KEY"
        ).fetchall()
    assert rows == [
        ("E1001", "Ortiz, Ana", "Clerk II", "FIN", 4710035),
        ("E1002", "Nguyen, Bao", "Analyst\t(Budget)", "FIN", 6041210),
        ("E1003", "O^Neil, Cara", "Driver", "PWK", 4122000),
        ("E1004", "Smith, Dan", "Clerk I", "PWK", None),
    ]


def test_the_fixed_width_section_points_at_the_mainframe_page() -> None:
    text = DOC.read_text(encoding="utf-8")
    section = text.split("## Fixed-width and copybook extracts", 1)[1]
    assert "(mainframe-extract.md)" in section
