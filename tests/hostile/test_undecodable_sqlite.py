"""Text that is not UTF-8 in a SQLite legacy column is a reject of its row, never fatal
(issue 22, item 5, the database side).

Before: ``sqlite3.OperationalError: Could not decode to UTF-8`` stopped the whole run. Now
the legacy engine's reader keeps the bytes (``surrogateescape``), marks the row unreadable
(``_read_*`` columns, as the flat-file readers do) and the transform rejects it as
``unreadable_record`` with the bytes shown in hex; every other row is staged.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.runs.runner import run_migration

FIELDS = """target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR: {const: 2024}
  RECORD_KEY: {from: ID}
  FULL_NAME: {from: NAME}
  LAST_NAME: {from: NAME}
  JOB_TITLE: {from: NAME}
  DEPARTMENT_CODE: {from: NAME}
  ANNUAL_SALARY: {from: GROSS, steps: [{money: fixed}]}
"""


def _project(workdir: Path, source: str) -> Path:
    db = workdir / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT)")
        conn.executemany(
            "INSERT INTO PAY VALUES (?, ?, ?)", [(i, f"N{i}", f"{i}.00") for i in range(1, 31)]
        )
        # Latin-1 "Müller" and a lone continuation byte, stored as TEXT
        conn.execute("UPDATE PAY SET NAME = CAST(x'4dfc6c6c6572' AS TEXT) WHERE ID = 7")
        conn.execute("UPDATE PAY SET GROSS = CAST(x'3132ff2e3030' AS TEXT) WHERE ID = 21")
    (workdir / "migrate.toml").write_text(f'[connections]\nfinance = "sqlite:///{db}"\n')
    folder = workdir / "mappings" / "hr"
    folder.mkdir(parents=True)
    head = f"entity: pay\ndomain: hr\nsource:\n  system: finance\n{source}"
    (folder / "pay.yaml").write_text(head + FIELDS, encoding="utf-8")
    return workdir / "mappings"


@pytest.mark.parametrize(
    "source",
    ["  table: PAY\n  key: [ID]\n", "  query: SELECT ID, NAME, GROSS FROM PAY\n  key: [ID]\n"],
    ids=["table", "query"],
)
def test_undecodable_text_rejects_its_row_only(tmp_path: Path, source: str) -> None:
    mappings = _project(tmp_path, source)
    summary = run_migration(load_settings(tmp_path), mappings, "full", chunk_size=8)
    assert summary.totals == {"rows_in": 30, "loaded": 28, "rejected": 2, "filtered": 0}
    with sqlite3.connect(tmp_path / "staging.db") as conn:
        rejects = conn.execute(
            'SELECT "SOURCE_KEY", "COLUMN_NAME", "REASON_CODE", "OFFENDING_VALUE" '
            'FROM "MIG_REJECTS" ORDER BY "SOURCE_KEY"'
        ).fetchall()
        staged = conn.execute('SELECT COUNT(*) FROM "WORKER_ANNUAL_PAY"').fetchone()[0]
    assert staged == 28
    assert [(k, c, r) for k, c, r, _ in rejects] == [
        ("21", "GROSS", "unreadable_record"),
        ("7", "NAME", "unreadable_record"),
    ]
    shown = {k: v for k, _, _, v in rejects}
    assert "x'3132ff2e3030'" in shown["21"]
    assert "x'4dfc6c6c6572'" in shown["7"]
    assert all(v.isprintable() for v in shown.values())
