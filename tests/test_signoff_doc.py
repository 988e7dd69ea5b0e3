"""The command lines of docs/how-to/sign-off.md, run as written, in order, on a small estate:
each ``$ migrate ...`` line is run and the lines under it must be among what it prints
(``RUN`` is the run id; ``<sha256>``, ``<path>`` and ``<when>`` stand for values that change).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from cli.main import main
from migrate.config import load_settings
from migrate.runs.runner import run_migration
from tests.test_pipeline import MAPPINGS, make_estate

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "sign-off.md"
_BLOCK = re.compile(r"```console\n(.*?)```", re.S)
_HOLES = {"<sha256>": "[0-9a-f]{64}", "<path>": r"\S+", "<when>": r"\S+"}


def steps(text: str) -> list[tuple[str, list[str]]]:
    """(command, expected lines) in the order the doc gives them."""
    out: list[tuple[str, list[str]]] = []
    for block in _BLOCK.findall(text):
        for line in block.splitlines():
            if line.startswith("$ "):
                out.append((line[2:], []))
            elif line.strip() and out:
                out[-1][1].append(line.strip())
    return out


def pattern(line: str, run_id: str) -> re.Pattern[str]:
    text = re.escape(line.replace("RUN", run_id))
    for hole, regex in _HOLES.items():
        text = text.replace(re.escape(hole), regex)
    return re.compile(text)


def test_the_doc_has_examples_of_each_capability() -> None:
    commands = " ".join(c for c, _ in steps(DOC.read_text(encoding="utf-8")))
    for needed in ("migrate reconcile RUN", "migrate audit history RUN", "--reconciliation 1"):
        assert needed in commands


def test_every_example_runs_as_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_estate(tmp_path, scale=200, seed=21)
    run = run_migration(load_settings(tmp_path), MAPPINGS, "full", ["suppliers_finance"])
    capsys.readouterr()
    for command, expected in steps(DOC.read_text(encoding="utf-8")):
        args = shlex.split(command.replace("RUN", run.run_id))
        assert args[0] == "migrate", command
        code = main(["--workdir", str(tmp_path), "--mappings", str(MAPPINGS), *args[1:]])
        printed = [line.strip() for line in capsys.readouterr().out.splitlines()]
        assert code != 2, command
        for line in expected:
            wanted = pattern(line, run.run_id)
            assert any(wanted.fullmatch(p) for p in printed), (command, line, printed)


def test_the_auditors_snippet_recomputes_the_printed_figures_fingerprint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The doc's Python snippet, run on a JSON issued with a workbook, prints the figures
    fingerprint that workbook's Sign-off sheet shows."""
    from openpyxl import load_workbook

    from reconcile.report import Reconciliation
    from reconcile.reports.history import write_reports
    from reconcile.reports.workbook_signoff import FIGURES_PRINT
    from tests.test_workbook import _ap, _gl, _run

    ev = write_reports(Reconciliation(_run(), (_gl(), _ap())), tmp_path, 1)
    [snippet] = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    code = "\n".join(line.removeprefix("  ") for line in snippet.splitlines())
    exec(code.replace("reconciliation_RUN_1.json", str(ev.json)), {})  # noqa: S102
    printed = capsys.readouterr().out.strip()
    so = load_workbook(ev.workbook)["Sign-off"]
    shown = next(so.cell(r, 2).value for r in range(1, 40) if so.cell(r, 1).value == FIGURES_PRINT)
    assert printed == shown and len(printed) == 64
