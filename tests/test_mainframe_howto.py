"""docs/how-to/mainframe-extract.md's YAML layout and records, run as a user would: the
first ``yaml`` block is the mapping, the ``text`` block the file; ``migrate run`` rejects the
bad overpunch as unreadable_record and ``migrate reconcile`` says FAIL: its gross cannot be
read, so the amount is unverified (never counted as 0)."""

from __future__ import annotations

import re
import sqlite3
from decimal import Decimal
from pathlib import Path

from cli.main import main
from migrate.extract.files.copybook import parse_copybook

DOC = Path(__file__).resolve().parents[1] / "docs" / "how-to" / "mainframe-extract.md"


def _blocks(kind: str) -> list[str]:
    return re.findall(rf"```{kind}\n(.*?)```", DOC.read_text(), re.S)


def test_the_how_to_layout_runs_and_reconciles(tmp_path: Path) -> None:
    (tmp_path / "mappings" / "hr").mkdir(parents=True)
    (tmp_path / "mappings" / "hr" / "county_pay.yaml").write_text(_blocks("yaml")[0])
    (tmp_path / "county_pay.txt").write_text(_blocks("text")[0], encoding="ascii")
    args = ["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings")]
    assert main([*args, "mappings", "check"]) == 0
    assert main([*args, "run"]) == 0
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        staged = conn.execute(
            'SELECT "RECORD_KEY", "ANNUAL_SALARY", "GROSS_PAY" FROM "WORKER_ANNUAL_PAY" '
            'ORDER BY "RECORD_KEY"'
        ).fetchall()
        rejects = conn.execute(
            'SELECT "SOURCE_KEY", "REASON_CODE", "COLUMN_NAME", "OFFENDING_VALUE" '
            'FROM "MIG_REJECTS"'
        ).fetchall()
    cents = [(k, Decimal(s) / 100, Decimal(g) / 100) for k, s, g in staged]  # SQLite: cents
    assert cents == [
        ("C0000001", Decimal("52000.00"), Decimal("-48123.41")),
        ("C0000002", Decimal("64501.22"), Decimal("64501.22")),
    ]
    assert rejects == [("C0000003|1998", "unreadable_record", "GROSS", "x'303030313233343523'")]
    assert main([*args, "reconcile"]) == 1  # FAIL: one amount unverified


def test_the_how_to_copybook_is_the_shipped_one() -> None:
    shown = parse_copybook(_blocks("cobol")[0])
    shipped = parse_copybook(
        (DOC.parents[2] / "mappings" / "hr" / "copybooks" / "hr_payytd.cpy").read_text()
    )
    assert shown == shipped
