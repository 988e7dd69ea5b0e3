"""docs/how-to/checks-and-rules.md's "Try it" section as a new user runs it: the page's
mappings saved in a working folder, its SQL as the legacy ``legacy_finance.db``, then
``mappings check``, ``run`` and ``reconcile`` through the command line; what they print is
compared with the page's output block (run ids, times and rates aside)."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "checks-and-rules.md"
_YAML = re.compile(r"```yaml\n# (mappings/\S+)\n(.*?)```", re.S)


def block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- checks-and-rules: {name} -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"no '{name}' block in {DOC.name}"
    return found.group(1)


def normalise(text: str) -> list[str]:
    """Lines without run ids, times, rates and the run table's seconds column."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\b(?:[0-9a-f]{32}|[0-9a-f]{12})\b", "RUN", line)
        line = re.sub(r"\s+\(\d[\d.]* s(, [\d,]+ rows/s)?\)", "", line)
        line = re.sub(r"^(\S+(\s+[\d,]+){4})\s+[\d.]+$", r"\1", line)
        if line.strip() and not line.startswith("$ "):
            out.append(line.rstrip())
    return out


def test_try_it_prints_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("STAGING", "FINANCE", "HR", "PROCUREMENT"):
        monkeypatch.delenv(f"MIGRATE_{name}_URL", raising=False)
    monkeypatch.delenv("MIGRATE_STAGING_SCHEMA", raising=False)
    for name, body in _YAML.findall(DOC.read_text(encoding="utf-8")):
        if name.startswith("mappings/"):  # the ledger's three, not the journals' project
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(body, encoding="utf-8")
    commands = [line[2:] for line in block("output").splitlines() if line.startswith("$ ")]
    assert commands[0] == "sqlite3 legacy_finance.db < ledger.sql"
    with sqlite3.connect(tmp_path / "legacy_finance.db") as db:
        db.executescript(block("legacy"))
    base = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    codes = []
    for command in commands[1:]:
        words = command.split()
        assert words[:3] == ["migrate", "--mappings", "mappings"], command
        codes.append(main([*base, *words[3:]]))
    assert codes == [0, 0, 3]  # check OK, run complete, EXCEPTIONS
    printed, shown = normalise(capsys.readouterr().out), normalise(block("output"))
    at = 0
    for line in shown:  # the page's lines, in order, among those printed
        assert line in printed[at:], f"{line!r} not printed (after line {at}):\n" + "\n".join(
            printed
        )
        at = printed.index(line, at) + 1
