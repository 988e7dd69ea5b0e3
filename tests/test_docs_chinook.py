"""docs/how-to/chinook.md as a new user meets it: the page's shell commands run as written
(from the checkout, with a folder of the test's own for ``/tmp/chinook``), and what they
print compared with the page's output block (run ids, times and rates aside).

The planted float of the page's section "What the float rule accepts and rejects" is run
too: it must never PASS, and the pipeline rejects it as ``inexact_float`` (the extract reads
a SQLite REAL in a column declared NUMERIC(10,2) as the float it stores)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

pytestmark = pytest.mark.realdata

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "how-to" / "chinook.md"
DOC_RUN = "999d8a0ecb69"  # the run id the page shows


def block(name: str) -> str:
    """The fenced block after ``<!-- chinook: NAME -->``."""
    text = DOC.read_text(encoding="utf-8")
    found = re.search(rf"<!-- chinook: {name} -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"no '{name}' block in {DOC.name}"
    return found.group(1)


def commands(name: str) -> list[str]:
    return [line[2:] for line in block(name).splitlines() if line.startswith("$ ")]


def normalise(text: str) -> list[str]:
    """Lines without run ids, times, rates and the run table's seconds column."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"\b(?:[0-9a-f]{32}|[0-9a-f]{12})\b", "RUN", line)
        line = re.sub(r"\s+\(\d[\d.]* s(, [\d,]+ rows/s)?\)", "", line)
        line = re.sub(r"^(\S+(\s+[\d,]+){4})\s+[\d.]+$", r"\1", line)
        if line.strip():
            out.append(line.rstrip())
    return out


@dataclass(frozen=True)
class Shell:
    folder: Path
    realdata: Path

    def run(self, line: str, run_id: str = DOC_RUN) -> subprocess.CompletedProcess[str]:
        """One command of the page, its paths made the test's own."""
        line = line.replace("/tmp/chinook", str(self.folder))
        line = line.replace("../shared/realdata", str(self.realdata))
        line = line.replace(".venv/bin/migrate", str(Path(sys.executable).with_name("migrate")))
        line = line.replace(DOC_RUN, run_id)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MIGRATE_")}
        env["MIGRATE_FINANCE_URL"] = f"sqlite:///{self.folder}/chinook.sqlite"
        if line.startswith("export "):  # the page's export, checked rather than run alone
            assert line == f"export MIGRATE_FINANCE_URL={env['MIGRATE_FINANCE_URL']}", line
            return subprocess.CompletedProcess(line, 0, "", "")
        if line.startswith("sqlite3 "):  # the sqlite3 shell may be absent: same statement
            db, sql = re.fullmatch(r'sqlite3 (\S+) "(.*)"', line).groups()  # type: ignore[union-attr]
            with sqlite3.connect(db) as conn:
                conn.execute(sql)
            return subprocess.CompletedProcess(line, 0, "", "")
        return subprocess.run(
            line, shell=True, cwd=REPO, env=env, capture_output=True, text=True, timeout=300
        )


def run_page(shell: Shell) -> tuple[str, list[int]]:
    outs, codes = [], []
    for line in commands("commands"):
        done = shell.run(line)
        outs.append(done.stdout)
        codes.append(done.returncode)
        assert "Traceback" not in done.stderr, (line, done.stderr)
    return "".join(outs), codes


@dataclass(frozen=True)
class Page:
    out: str
    codes: list[int]
    folder: Path


@pytest.fixture(scope="module")
def page(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Page:
    folder = tmp_path_factory.mktemp("chinook")
    return Page(*run_page(Shell(folder, realdata)), folder)


def test_the_commands_succeed_and_print_what_the_page_shows(page: Page) -> None:
    assert page.codes == [0] * len(page.codes), page.out
    printed, shown = normalise(page.out), normalise(block("output"))
    at = 0
    for line in shown:  # the page's lines, in order, among those printed
        assert line in printed[at:], f"{line!r} not printed (after line {at}):\n{page.out}"
        at = printed.index(line, at) + 1


def test_the_workbook_says_what_the_page_quotes(page: Page) -> None:
    (book,) = (page.folder / "artifacts").glob("reconciliation_*.xlsx")
    wb = openpyxl.load_workbook(book)
    details = [row[5] for row in wb["Rules"].iter_rows(min_row=4, values_only=True)]
    summary = {(r[0], r[1]): r[2:4] for r in wb["Summary"].iter_rows(values_only=True)}
    assert summary["chinook_invoices", "Amount: total"] == (2328.6, 2328.6)
    assert summary["chinook_invoice_lines", "Amount: unit_price"] == (2328.6, 2328.6)
    text = " ".join(DOC.read_text(encoding="utf-8").split())  # the page's lines unwrapped
    for quoted in ("412 staged headers and 2,240 lines compared: all hold",
                   "412 legacy headers with their 2,240 lines read: every one holds"):  # fmt: skip
        assert quoted in details and f"`{quoted}`" in text
    with sqlite3.connect(page.folder / "staging.db") as conn:
        ((headers,),) = conn.execute("SELECT SUM(TRX_AMOUNT) FROM AR_INVOICES_INTERFACE")
        ((lines,),) = conn.execute("SELECT SUM(AMOUNT) FROM AR_INVOICE_LINES_INTERFACE")
    assert headers == lines == 232860 and "-- 232860" in text


@dataclass(frozen=True)
class Planted:
    out: str
    code: int
    staging: Path


@pytest.fixture(scope="module")
def planted(realdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Planted:
    folder = tmp_path_factory.mktemp("chinook_planted")
    shell = Shell(folder, realdata)
    out, _ = run_page(shell)
    run_id = re.search(r"run ([0-9a-f]{32}|[0-9a-f]{12}) \(full\) complete", out).group(1)  # type: ignore[union-attr]
    last = subprocess.CompletedProcess("", 0, "", "")
    for line in commands("planted"):
        last = shell.run(line, run_id)
        assert "Traceback" not in last.stderr, (line, last.stderr)
    return Planted(last.stdout, last.returncode, folder / "staging.db")


def rejected_as(staging: Path, key: str) -> list[str]:
    with sqlite3.connect(staging) as conn:
        sql = (
            "SELECT REASON_CODE FROM MIG_REJECTS"
            " WHERE ENTITY = 'chinook_invoices' AND SOURCE_KEY = ?"
        )
        return [r for (r,) in conn.execute(sql, (key,))]


def test_a_planted_inexact_float_never_passes(planted: Planted) -> None:
    assert planted.code == 3, planted.out  # EXCEPTIONS: the invoice rejected, listed
    printed = normalise(planted.out)
    for line in normalise(block("planted")):
        if not line.startswith("$ "):
            assert line in printed, f"{line!r} not printed:\n{planted.out}"


def test_a_planted_inexact_float_is_rejected_as_the_rule_says(planted: Planted) -> None:
    assert rejected_as(planted.staging, "1") == ["inexact_float"]
    assert "EXCEPTIONS chinook_invoices" in planted.out
