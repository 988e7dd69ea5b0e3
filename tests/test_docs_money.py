"""docs/how-to/money.md's "Try it" section as a new user runs it: the page's two mappings
with the systems the section says to write, its SQL as the legacy files, ``run`` and
``reconcile`` through the command line; the printed lines and the Summary's amount and
rounding lines are compared with the page (run ids, times and rates aside)."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from cli.main import main

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "money.md"
_YAML = re.compile(r"```yaml\n# (mappings/\S+)\n(.*?)```", re.S)


def block(name: str) -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- money: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", text, re.S)
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


def test_try_it_prints_and_writes_what_the_page_shows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("STAGING", "FINANCE", "HR", "PROCUREMENT"):
        monkeypatch.delenv(f"MIGRATE_{name}_URL", raising=False)
    monkeypatch.delenv("MIGRATE_STAGING_SCHEMA", raising=False)
    text = DOC.read_text(encoding="utf-8")
    for name, body in _YAML.findall(text):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    commands = [line[2:] for line in block("output").splitlines() if line.startswith("$ ")]
    for command in commands:
        if command.startswith("sqlite3 "):
            db, script = re.fullmatch(r"sqlite3 (\S+) < (\S+)", command).groups()  # type: ignore[union-attr]
            with sqlite3.connect(tmp_path / db) as conn:
                conn.executescript(block(script))
    base = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    codes = [main([*base, *c.split()[3:]]) for c in commands if c.startswith("migrate --mappings")]
    assert codes == [0, 3]  # run complete; reconcile EXCEPTIONS
    printed, shown = normalise(capsys.readouterr().out), normalise(block("output"))
    at = 0
    for line in shown:
        assert line in printed[at:], f"{line!r} not printed:\n" + "\n".join(printed)
        at = printed.index(line, at) + 1
    (book,) = (tmp_path / "artifacts").glob("reconciliation_*.xlsx")
    rows = {
        (r[0], r[1]): r for r in openpyxl.load_workbook(book)["Summary"].iter_rows(values_only=True)
    }
    amount, rounding = (
        rows["pay_sqlserver", "Amount: salary"],
        rows["pay_sqlserver", "Rounding: salary"],
    )
    exact = [Decimal(str(v)) for v in (*amount[2:5], rounding[2], rounding[7])]
    assert exact == [Decimal(v) for v in ("122.61065", "119.62", "3.00005", "0.0094", "0.02")]
    assert "| Amount: salary | 122.61065 | 119.62 | 3.00005 | 0 | 0 |" in text
    assert "| Rounding: salary | 0.0094 | | | 0.0094 | 0.02 |" in text


def grammar_table() -> list[list[str]]:
    """The rows of the page's amount-grammar examples: value, cents, fixed, text."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- money: grammar -->\n((?:\|.*\n)+)", text)
    assert found, "no grammar table in money.md"
    rows = [
        [c.strip().strip("`") for c in line.strip("|").split("|")] for line in found[1].splitlines()
    ]
    return rows[2:]


def test_the_grammar_table_is_what_both_implementations_do() -> None:
    import pandas as pd

    from migrate.spec.stepargs import MoneyArgs
    from migrate.transform.parse import money_step
    from reconcile.reading.money import InvalidAmount, step_cents

    rows = grammar_table()
    assert len(rows) >= 15
    for value, *wants in rows:
        for encoding, want in zip(("cents", "fixed", "text"), wants, strict=True):
            args = MoneyArgs(encoding=encoding)  # type: ignore[arg-type]
            cents, bad = money_step(pd.Series([value], dtype="str"), args)
            mine = "refused" if bad.iloc[0] else str(int(cents.iloc[0]))
            try:
                theirs = str(step_cents(value, args))
            except InvalidAmount:
                theirs = "refused"
            assert mine == theirs == want, (value, encoding)
