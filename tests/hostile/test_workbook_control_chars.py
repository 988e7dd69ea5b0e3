"""Whatever a legacy value holds, the workbook is written, and it shows the value escaped,
visibly (issue 22, item 7).

Before: a reject whose offending value was ``000000100.00\\x00`` made ``migrate reconcile``
die in openpyxl (``IllegalCharacterError``); a lone surrogate (the bytes a ``surrogateescape``
reader keeps) died in the UTF-8 encoder; a value starting with ``=`` was written as a formula.
Now every text cell goes through :func:`reconcile.reports.workbook_text.cell_text`: control
characters read ``\\x00``, lone surrogates ``\\udcff``, text stays text.
"""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from cli.main import main
from migrate.config import load_settings
from migrate.runs.runner import run_migration
from reconcile.report import Reconciliation, RejectGroup
from reconcile.reports.workbook import workbook_bytes, write_workbook
from reconcile.reports.workbook_text import cell_text
from tests.test_workbook import _ap, _run

HOSTILE = "000000100.00\x00"


def _with_sample(value: str) -> Reconciliation:
    ap = _ap()
    group = RejectGroup(ap.entity, "invalid_amount", 1, (("INV-9", "AMOUNT", value),))
    ap = replace(ap, rejects=(*ap.rejects, group), rejected_rows=ap.rejected_rows + 1)
    return Reconciliation(_run(), (replace(ap, source_rows=ap.source_rows + 1),))


def _texts(path: Path) -> list[str]:
    wb = load_workbook(path)
    return [
        c for ws in wb for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)
    ]


def test_a_nul_in_a_reject_value_is_written_and_shown(tmp_path: Path) -> None:
    path = tmp_path / "w.xlsx"
    write_workbook(_with_sample(HOSTILE), path)
    assert "000000100.00\\x00" in _texts(path)


def test_a_lone_surrogate_and_a_formula_look_alike_are_text(tmp_path: Path) -> None:
    for value, shown in (("12\udcff.00", "12\\udcff.00"), ("=1+1", "=1+1"), ("\r", "\\r")):
        path = tmp_path / f"w{len(shown)}.xlsx"
        write_workbook(_with_sample(value), path)
        wb = load_workbook(path)
        cells = [c for ws in wb for row in ws.iter_rows() for c in row if c.value == shown]
        assert cells and all(c.data_type == "s" for c in cells), value


def test_escaping_is_visible_and_leaves_plain_text_alone() -> None:
    assert cell_text("ACME Ltd, 5th floor\tdesk\n2") == "ACME Ltd, 5th floor\tdesk\n2"
    assert cell_text("a\x00b\x1fc\x7f") == "a\\x00b\\x1fc\\x7f"
    assert cell_text("\ufffe") == "\\ufffe"
    assert cell_text("x" * 40_000).endswith("(40,000 characters; the first 32,000 shown)")


@settings(max_examples=60, deadline=None)
@given(st.text(st.characters(blacklist_categories=()), max_size=40))
def test_any_legacy_text_writes_and_reads_back_escaped(value: str) -> None:
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    from reconcile.reports.workbook_style import put

    put(ws, 1, 1, value)
    import io

    buffer = io.BytesIO()
    wb.save(buffer)
    back = load_workbook(io.BytesIO(buffer.getvalue())).active
    assert back is not None
    expected = cell_text(value)
    assert (back["A1"].value or "") == expected
    assert expected.isprintable() or set(expected) & {"\t", "\n"}


def test_same_hostile_report_gives_same_bytes() -> None:
    report = _with_sample(HOSTILE)
    assert workbook_bytes(report) == workbook_bytes(report)


def test_migrate_reconcile_writes_the_workbook_then_the_json(tmp_path: Path) -> None:
    """End to end: a NUL in a legacy amount is rejected with its value; reconcile writes
    the workbook (showing ``\\x00``) and the JSON, and exits with the verdict (3), not 2."""
    db = tmp_path / "legacy.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE PAY (ID INTEGER, NAME TEXT, GROSS TEXT)")
        rows = [(i, f"N{i}", f"{i}.00") for i in range(1, 11)]
        conn.executemany("INSERT INTO PAY VALUES (?, ?, ?)", rows)
        conn.execute("UPDATE PAY SET GROSS = ? WHERE ID = 4", (HOSTILE,))
    (tmp_path / "migrate.toml").write_text(f'[connections]\nfinance = "sqlite:///{db}"\n')
    folder = tmp_path / "mappings" / "hr"
    folder.mkdir(parents=True)
    (folder / "pay.yaml").write_text(
        "entity: pay\ndomain: hr\nsource:\n  system: finance\n  table: PAY\n  key: [ID]\n"
        "target:\n  table: WORKER_ANNUAL_PAY\n  key: [FISCAL_YEAR, RECORD_KEY]\nfields:\n"
        "  FISCAL_YEAR: {const: 2024}\n  RECORD_KEY: {from: ID}\n  FULL_NAME: {from: NAME}\n"
        "  LAST_NAME: {from: NAME}\n  JOB_TITLE: {from: NAME}\n  DEPARTMENT_CODE: {from: NAME}\n"
        "  ANNUAL_SALARY: {from: GROSS, steps: [{money: fixed}]}\n",
        encoding="utf-8",
    )
    mappings = tmp_path / "mappings"
    run = run_migration(load_settings(tmp_path), mappings, "full")
    assert run.totals["rejected"] == 1
    out = tmp_path / "out"
    args = ["--workdir", str(tmp_path), "--mappings", str(mappings)]
    code = main([*args, "reconcile", run.run_id, "--output", str(out)])
    books = sorted(out.glob("*.xlsx"))
    assert len(books) == 1 and len(list(out.glob("*.json"))) == 1
    assert any("\\x00" in text for text in _texts(books[0]))
    assert code in (1, 3)


def test_the_json_holds_any_legacy_text_and_reads_it_back() -> None:
    """A lone surrogate (an undecodable byte kept by ``surrogateescape``) is written as a
    ``\\udcff`` escape: the JSON encodes as UTF-8 and reads back the same report."""
    from reconcile.reports.report_json import from_json, to_json

    report = _with_sample("12\udcff.00\x00")
    text = to_json(report)
    text.encode("utf-8")
    assert from_json(text) == report


def test_no_json_without_its_workbook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The JSON is written after the workbook: a workbook that cannot be written leaves no
    JSON (no PASS on disk without the workbook it summarises)."""
    import reconcile.reports.history as history

    def broken(*_args: object, **_kw: object) -> str:
        raise RuntimeError("disk full")

    monkeypatch.setattr(history, "write_workbook", broken)
    with pytest.raises(RuntimeError):
        history.write_reports(_with_sample(HOSTILE), tmp_path, 1)
    assert not list(tmp_path.glob("*.json")) and not list(tmp_path.glob("*.xlsx"))


def test_every_cell_is_written_by_put_or_put_formula() -> None:
    """One door for values: no sheet writer sets a cell's value itself (which would skip
    the escaping), only ``workbook_style.put`` and ``put_formula`` do."""
    import re as _re

    setting = _re.compile(r"\.value\s*=(?!=)|\bvalue\s*=(?!=)|\.append\(\s*\[")
    allowed = "StringProperty(name=WORKBOOK_PROPERTY, value=text)"  # a document property
    root = Path(__file__).resolve().parents[2] / "reconcile"
    writers = sorted(root.rglob("workbook*.py"))  # reconcile/reports/ since a15c0c6
    assert len(writers) >= 10, [p.name for p in writers]  # never a guard over no file
    for path in writers:
        text = path.read_text(encoding="utf-8").replace(allowed, "")
        if path.name == "workbook_style.py":
            text = text[: text.index("def put(")] + text[text.index("def _cell(") :]
        assert not setting.search(text), path.name
