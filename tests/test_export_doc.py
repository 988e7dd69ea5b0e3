"""docs/how-to/export.md as written: each session's commands run in a small SQLite demo
estate, in page order, exit with the code the page states and print the lines it shows
(``…`` stands for text that changes, ``<id>`` for the run's id)."""

from __future__ import annotations

import re
import shlex
import sqlite3
from pathlib import Path

import pytest

from cli.main import main
from tests.test_pipeline import make_estate

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "export.md"
SESSIONS = ["journals", "all", "csv", "tampered"]


def session(name: str) -> list[tuple[str, int, list[str]]]:
    """(command, exit code, expected lines) of the block after ``<!-- export: session -->``."""
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- export: session {name} -->\n```console\n(.*?)```", text, re.S)
    assert match, f"no session {name} in {PAGE}"
    steps: list[tuple[str, int, list[str]]] = []
    for line in match.group(1).splitlines():
        if line.startswith("$ "):
            command, _, code = line[2:].partition("# exit ")
            steps.append((command.strip(), int(code or 0), []))
        elif line.strip():
            steps[-1][2].append(line.strip())
    return steps


def _pattern(expected: str, run_id: str) -> re.Pattern[str]:
    parts = expected.replace("<id>", run_id).split("…")
    return re.compile(".*".join(r"\s+".join(re.escape(w) for w in p.split()) for p in parts))


def _run_id(workdir: Path) -> str:
    if not (workdir / "staging.db").exists():
        return "<no run>"
    with sqlite3.connect(workdir / "staging.db") as conn:
        row = conn.execute("SELECT RUN_ID FROM MIG_RUNS ORDER BY STARTED_AT DESC").fetchone()
    return str(row[0]) if row else "<no run>"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Path:
    """One working folder the sessions share, in page order. The export needs no layout
    file; ``<layouts>`` in a command is the realdata layouts folder, for ``verify``."""
    folder = tmp_path_factory.mktemp("export-doc")
    make_estate(folder, scale=200, seed=7)
    return folder


@pytest.mark.parametrize("name", SESSIONS)
def test_session_as_written(
    name: str,
    workdir: Path,
    realdata: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(workdir)
    layouts = str(realdata / "erp_target_schemas" / "oracle_fusion_interface")
    for command, code, expected in session(name):
        words = shlex.split(command)
        if words[0] == "rm":
            (workdir / words[1]).unlink()
            continue
        assert words[0] == "migrate", command
        run_id = _run_id(workdir)
        got = main([w.replace("<id>", run_id).replace("<layouts>", layouts) for w in words[1:]])
        out, err = capsys.readouterr()
        lines = [ln.strip() for ln in (out + err).splitlines()]
        assert "Traceback" not in err
        assert got == code, (command, got, out, err)
        run_id = _run_id(workdir)
        for want in expected:
            pattern = _pattern(want, run_id)
            assert any(pattern.fullmatch(ln) for ln in lines), (command, want, lines)
