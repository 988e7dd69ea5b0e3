"""One cause, one message, naming the cause (issue 23, item 2), for mapping mistakes found
by ``migrate/spec/loader.py``, which is not the command line's file: the patch is in the
report of issue 23's command-line work. Each test is a strict xfail until it is applied,
so applying it turns them into failures to unmark, not silent passes."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cli.main import main

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"


@pytest.fixture
def mappings(tmp_path: Path) -> Path:
    folder = tmp_path / "mappings"
    shutil.copytree(MAPPINGS, folder)
    return folder


def _check(mappings: Path, capsys: pytest.CaptureFixture[str]) -> list[str]:
    code = main(["--mappings", str(mappings), "mappings", "check", "--offline"])
    out = capsys.readouterr().out.splitlines()
    assert code == 1, out
    return out[:-1]  # the last line counts the problems


def test_a_missing_crosswalk_file_is_said_once(
    mappings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (mappings / "crosswalks" / "accounts.csv").rename(mappings / "crosswalks" / "acounts.csv")
    problems = _check(mappings, capsys)
    assert len(problems) == 1, problems
    assert "unknown crosswalk 'accounts' (did you mean 'acounts'?)" in problems[0]
    assert "crosswalks/accounts.csv" in problems[0]


def test_a_crosswalk_saved_by_excel_with_a_bom_is_read(
    mappings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mappings / "crosswalks" / "pay_types.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert main(["--mappings", str(mappings), "mappings", "check", "--offline"]) == 0
    assert "mappings OK" in capsys.readouterr().out


def test_a_renamed_entity_is_named_where_it_is_depended_on(
    mappings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = mappings / "finance" / "gl_accounts.yaml"
    path.write_text(path.read_text().replace("entity: gl_accounts", "entity: gl_acounts", 1))
    problems = _check(mappings, capsys)
    assert len(problems) == 1, problems
    assert "gl_journals.yaml" in problems[0] and "depends_on" in problems[0]
    assert "did you mean 'gl_acounts'" in problems[0]
