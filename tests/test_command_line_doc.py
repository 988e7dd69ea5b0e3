"""docs/how-to/command-line.md as written: each session's commands run in a small SQLite
estate, exit with the code the page states, and print the lines it shows (``…`` stands
for text that changes; ``<id>`` for the latest run's id)."""

from __future__ import annotations

import io
import re
import shlex
import shutil
from pathlib import Path

import pytest

from cli.main import main
from tests.test_pipeline import make_estate

PAGE = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "command-line.md"
SESSIONS = ["staging-down", "mistakes", "dry-run", "runs", "runs-again", "rollback", "doctor"]


def session(name: str) -> list[tuple[str, int, list[str]]]:
    """(command, exit code, expected lines) of the console block after ``<!-- session -->``."""
    text = PAGE.read_text(encoding="utf-8")
    match = re.search(rf"<!-- session: {name} -->\n```console\n(.*?)```", text, re.S)
    assert match, f"no session {name} in {PAGE}"
    steps: list[tuple[str, int, list[str]]] = []
    for line in match.group(1).splitlines():
        if line.startswith("$ "):
            command, _, code = line[2:].partition("# exit ")
            steps.append((command.strip(), int(code), []))
        elif line.strip():
            steps[-1][2].append(line.strip())
    return steps


def _pattern(expected: str, run_id: str) -> re.Pattern[str]:
    parts = expected.replace("<id>", run_id).split("…")
    return re.compile(".*".join(r"\s+".join(re.escape(w) for w in p.split()) for p in parts))


@pytest.fixture(scope="module")
def legacy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("legacy")
    make_estate(folder, scale=200, seed=3)
    return folder


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, legacy: Path) -> Path:
    """One working folder the sessions share, in page order (runs, then rollback)."""
    folder = tmp_path_factory.mktemp("cli-doc")
    for name in ("legacy_finance.db", "legacy_hr.db", "legacy_procurement.db"):
        shutil.copy(legacy / name, folder / name)
    shutil.copytree(legacy / "extracts", folder / "extracts")
    return folder


def _latest_run(workdir: Path) -> str:
    timing = sorted(
        (workdir / "artifacts" / "timing").glob("*.json"), key=lambda p: p.stat().st_mtime
    )
    return timing[-1].stem if timing else "<no run>"


@pytest.mark.parametrize("name", SESSIONS)
def test_session_as_written(
    name: str,
    workdir: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(workdir)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # a script: nobody to answer
    for command, code, expected in session(name):
        words = shlex.split(command)
        env = {}
        while "=" in words[0]:
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        assert words[0] == "migrate", command
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            run_id = _latest_run(workdir)
            args = [w.replace("<id>", run_id) for w in words[1:]]
            got = main(args)
        out, err = capsys.readouterr()
        lines = [ln.strip() for ln in (out + err).splitlines()]
        assert "Traceback" not in err
        assert got == code, (command, got, out, err)
        run_id = _latest_run(workdir)
        for want in expected:
            pattern = _pattern(want, run_id)
            assert any(pattern.fullmatch(ln) for ln in lines), (command, want, lines)
