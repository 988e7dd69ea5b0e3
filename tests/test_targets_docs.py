"""The targets pages as written: every YAML example loads, the drift output is what the
command prints, and the reference page is generated from the models and covers every key."""

from __future__ import annotations

import argparse
import re
import shlex
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from sqlalchemy import MetaData, create_engine

from cli.targets import add_parsers
from migrate.config import Settings
from migrate.targets.build import build_table
from migrate.targets.loader import load_definition
from migrate.targets.reference import SECTIONS, render

DOCS = Path(__file__).resolve().parents[1] / "docs"
HOWTO = DOCS / "how-to" / "targets.md"
REFERENCE = DOCS / "reference" / "targets.md"
EXAMPLE = DOCS / "examples" / "targets"
SHOWN = {  # the page's example blocks are the example project's files, verbatim
    "departments": "targets/departments.yaml",
    "assignment-history": "targets/assignment_history.yaml",
    "departments-mapping": "mappings/hr/departments.yaml",
}


def block(kind: str, name: str) -> str:
    """The fenced block that follows ``<!-- kind: name -->`` in the how-to page."""
    text = HOWTO.read_text(encoding="utf-8")
    match = re.search(rf"<!-- {kind}: {name} -->\n```\w*\n(.*?)```", text, re.S)
    assert match, f"no {kind} {name} in {HOWTO}"
    return match.group(1)


@pytest.mark.parametrize("name", ["departments", "assignment-history", "invoice-object"])
def test_each_example_loads(tmp_path: Path, name: str) -> None:
    (tmp_path / "t.yaml").write_text(block("example", name), encoding="utf-8")
    tables = load_definition(tmp_path / "t.yaml")
    assert tables


def test_the_documented_offline_error_is_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    folder = tmp_path / "targets"
    folder.mkdir()
    wrong = block("example", "departments").replace("length: 60", "lenght: 60")
    (folder / "departments.yaml").write_text(wrong, encoding="utf-8")
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["targets", "check", str(folder), "--offline"])
    assert args.handler(args, Settings(urls={}, workdir=tmp_path)) == 1
    assert capsys.readouterr().out == block("output", "offline")


def test_the_documented_drift_is_what_check_prints(
    tmp_path: Path, capsys: pytest.CaptureFixture[Any]
) -> None:
    folder = tmp_path / "targets"
    folder.mkdir()
    (folder / "departments.yaml").write_text(block("example", "departments"), encoding="utf-8")
    [loaded] = load_definition(folder / "departments.yaml")
    md = MetaData()
    build_table(md, loaded.table)
    engine = create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    md.create_all(engine)
    with engine.begin() as conn:  # the DBA's changes the page describes
        conn.exec_driver_sql('ALTER TABLE "DEPARTMENTS" ADD COLUMN "COST_CENTER" VARCHAR(10)')
        conn.exec_driver_sql('ALTER TABLE "DEPARTMENTS" DROP COLUMN "OPENED"')
    engine.dispose()
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["targets", "check", str(folder)])
    settings = Settings(urls={"staging": f"sqlite:///{tmp_path / 'staging.db'}"}, workdir=tmp_path)
    assert args.handler(args, settings) == 1
    assert capsys.readouterr().out == block("output", "drift")


def test_the_reference_page_is_generated_from_the_models() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(), (
        "run: python -m migrate.targets.reference docs/reference/targets.md"
    )


@pytest.mark.parametrize(("title", "model"), SECTIONS)
def test_every_key_is_documented(title: str, model: type[BaseModel]) -> None:
    page = REFERENCE.read_text(encoding="utf-8")
    section = page.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]
    for name, info in model.model_fields.items():
        assert info.description, f"{model.__name__}.{name} has no description"
        assert f"| `{name}` |" in section, f"{title}: {name} missing"


@pytest.mark.parametrize(("name", "file"), SHOWN.items())
def test_the_page_shows_the_example_project_as_it_is(name: str, file: str) -> None:
    assert block("example", name) == (EXAMPLE / file).read_text(encoding="utf-8")


def normalised(text: str) -> list[str]:
    """Lines without run ids, times, rates and the run table's seconds column."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\b([0-9a-f]{32}|[0-9a-f]{12})\b", "RUN", line)
        line = re.sub(r"\s+\(\d[\d.]* s(, [\d,]+ rows/s)?\)", "", line)
        line = re.sub(r"^(\S+(\s+[\d,]+){4})\s+[\d.]+$", r"\1", line)
        if line.strip() and "rows/s" not in line:  # progress bars aside
            out.append(line.rstrip())
    return out


def test_the_walkthrough_runs_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each ``$ migrate`` line of the page, run in a copy of the example project; what it
    prints holds every line the page shows, in order (the page may cut a long output)."""
    from migrate.staging.catalog import forget_targets

    folder = tmp_path / "my-hr-project"
    shutil.copytree(EXAMPLE, folder)
    monkeypatch.chdir(folder)
    try:
        _walk(folder, block("session", "walkthrough").splitlines(), capsys)
    finally:
        forget_targets()  # the next test sees the shipped tables alone


def _walk(folder: Path, lines: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main
    from migrate.staging.catalog import forget_targets

    run_id = ""
    for i, line in enumerate(lines):
        if not line.startswith("$ "):
            continue
        shown = []
        for later in lines[i + 1 :]:
            if later.startswith("$ "):
                break
            shown.append(later)
        argv = shlex.split(line[2:])
        if argv[0] == "sqlite3":  # the sqlite3 shell may be absent: the same script
            with sqlite3.connect(folder / argv[1]) as conn:
                conn.executescript((folder / "legacy_hr.sql").read_text(encoding="utf-8"))
            continue
        assert argv[0] == "migrate", line
        argv = [a.replace("RUN", run_id) if a == "RUN" else a for a in argv[1:]]
        forget_targets()  # each command as from a fresh process
        capsys.readouterr()
        main(argv)
        out, err = capsys.readouterr()
        run_id = run_id or _run_id(out)
        got = normalised(out + err)
        want = normalised("\n".join(shown))
        position = 0
        for wanted in want:
            assert wanted in got[position:], (line, wanted, got)
            position = got.index(wanted, position) + 1


def _run_id(out: str) -> str:
    found = re.search(r"run ([0-9a-f]{32}|[0-9a-f]{12}) ", out)
    return found.group(1) if found else ""
