"""A grain line's status is one fact, read by the workbook and the JSON alike.

Found: an amount with a legacy value reconciliation cannot read (``O12.50``) made the
workbook's control-totals lines of that amount UNVERIFIED (which line holds the value is
not known), while the JSON report, judging the same line on its own, still said PASS: the
two reports judged a line separately, and the JSON is what CI, flows and auditors read
(seen failing on b1cd60e). Now ``GrainRow.status`` says UNVERIFIED, the entity keeps each
line's ``unreadable`` count equal to its amount's, and both reports write ``g.status``.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import FAIL, PASS, UNVERIFIED, Reconciliation
from reconcile.reports.report_json import from_json, to_json
from reconcile.reports.workbook import write_workbook
from tests.test_verdict import migrate_and_reconcile, project, row
from tests.test_workbook import _gl, _run

D = Decimal
_STATUS = re.compile(r'^=IF\(ABS\([A-Z]+\d+\)<=[A-Z]+\d+,"(\w+)","FAIL"\)$')


def _json_grains(report: Reconciliation) -> dict[tuple[str, tuple[str, ...], str], str]:
    doc = json.loads(to_json(report))
    return {
        (e["entity"], tuple(g["key"]), g["measure"]): g["status"]
        for e in doc["entities"]
        for g in e["grains"]
    }


def _sheet_status(ws: Worksheet, k: int, line: tuple[Any, ...], difference: Decimal) -> str:
    """The Status formula's value (its pass word when within tolerance), or the exact
    value written where the spreadsheet cannot compute it."""
    written = line[k + 8]
    match = _STATUS.match(str(written))
    if not match:
        return str(written)
    return match.group(1) if abs(difference) <= D(str(line[k + 7])) else FAIL


def _workbook_grains(
    report: Reconciliation, path: Path
) -> dict[tuple[str, tuple[str, ...], str], tuple[str, str]]:
    """Each grain line's (Status by its formula, Report status) on the totals sheets."""
    write_workbook(report, path)
    wb = load_workbook(path)
    out = {}
    for e in report.entities:
        if not e.grains:
            continue
        ws = wb[f"{e.entity} totals"]
        k = len(e.grains[0].key)
        diff = {(g.key, g.measure): g.difference for g in e.grains}
        for line in ws.iter_rows(min_row=4, values_only=True):
            key, measure = tuple(line[1 : 1 + k]), line[1 + k]
            if (key, measure) in diff:
                formula = _sheet_status(ws, k, line, diff[(key, measure)])
                out[(e.entity, key, str(measure))] = (formula, str(line[k + 9]))
    return out


def test_an_unread_amount_makes_its_grain_lines_unverified_in_the_json(tmp_path: Path) -> None:
    """The real pipeline: a salary 'O12.50' in agency A01 of an entity with an agency grain.
    Before the fix the JSON said PASS for both salary lines; the workbook UNVERIFIED."""
    rows = [row(1, "100.00"), row(2, "O12.50"), row(3, "7.00", agency="B02")]
    report = migrate_and_reconcile(tmp_path, project(tmp_path, {"pay": rows}))
    (e,) = report.entities
    salary = next(m for m in e.measures if m.measure == "salary")
    assert salary.status == UNVERIFIED and salary.unreadable == 1
    in_json = _json_grains(report)
    salary_lines = {key: s for (_, key, m), s in in_json.items() if m == "salary"}
    assert salary_lines == {("A01",): UNVERIFIED, ("B02",): UNVERIFIED}
    assert {s for (_, _, m), s in in_json.items() if m == "gross"} == {PASS}
    doc = json.loads(to_json(report))
    assert doc["entities"][0]["status"] == FAIL and doc["verdict"] == FAIL
    in_book = _workbook_grains(report, tmp_path / "w.xlsx")
    assert {k: (s, s) for k, s in in_json.items()} == in_book
    assert from_json(to_json(report)) == report


def _gl_unread(unread: int) -> Reconciliation:
    """gl_journal with its planted cent put back and ``unread`` debit values not read."""
    gl = _gl()
    rows = tuple(("JE-1/1", f"O{i}.00") for i in range(min(unread, 3)))
    debit = replace(gl.measures[0], unreadable=unread, unreadable_rows=rows)
    credit = replace(gl.measures[1], staged=D("124990.50"))
    grains = (gl.grains[0], replace(gl.grains[1], staged=D("124990.50")))
    gl = replace(gl, measures=(debit, credit), grains=grains, rules=(), differences=(),
                 difference_count=0, difference_kinds=())  # fmt: skip
    return Reconciliation(_run(), (gl,))


def test_a_line_judged_pass_beside_an_unread_amount_is_refused_on_reading() -> None:
    """A document whose grain line says PASS (or counts no unread value) while its amount
    has unread values is an edited or wrong one: ``from_json`` refuses it."""
    doc = json.loads(to_json(_gl_unread(2)))
    line = doc["entities"][0]["grains"][0]
    assert (line["measure"], line["status"], line["unreadable"]) == ("debit", UNVERIFIED, 2)
    line["status"] = PASS
    with pytest.raises(ValueError, match="status"):
        from_json(json.dumps(doc))
    line["status"], line["unreadable"] = UNVERIFIED, 0
    with pytest.raises(ValueError, match="unreadable"):
        from_json(json.dumps(doc))


def test_summary_counts_unverified_grain_lines(tmp_path: Path) -> None:
    """The Summary's grain line counts the UNVERIFIED lines too, so it cannot say PASS
    over a totals sheet whose lines are not verified."""
    path = tmp_path / "w.xlsx"
    write_workbook(_gl_unread(1), path)
    ws = load_workbook(path)["Summary"]
    (line,) = [r for r in ws.iter_rows(values_only=True) if r[1] == "Grain rows failing"]
    assert f'"{UNVERIFIED}"' in str(line[6]) and f'"{UNVERIFIED}"' in str(line[8])
    assert line[9] == UNVERIFIED


_MONEY = st.decimals(min_value=-1000, max_value=1000, places=2, allow_nan=False)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    unread=st.integers(min_value=0, max_value=3),
    figures=st.lists(st.tuples(_MONEY, _MONEY, _MONEY), min_size=2, max_size=2),
    tolerance=st.sampled_from([D(0), D("0.01"), D(5)]),
)
def test_every_grain_line_has_one_status_in_both_reports(
    tmp_path: Path, unread: int, figures: list[tuple[Decimal, ...]], tolerance: Decimal
) -> None:
    """For any grain line: the JSON's status is the workbook's Report status is what the
    workbook's Status formula gives, and each is ``GrainRow.status``."""
    report = _gl_unread(unread)
    (gl,) = report.entities
    lines = tuple(
        replace(g, source=s, staged=t, rejected=r, filtered=D(0), tolerance=tolerance)
        for g, (s, t, r) in zip(gl.grains, figures, strict=True)
    )
    report = Reconciliation(_run(), (replace(gl, grains=lines),))
    (gl,) = report.entities
    expected = {(gl.entity, g.key, g.measure): g.status for g in gl.grains}
    assert _json_grains(report) == expected
    book = _workbook_grains(report, tmp_path / f"{uuid4().hex}.xlsx")
    assert book == {k: (s, s) for k, s in expected.items()}
    for g in gl.grains:
        if g.measure == "debit" and unread and abs(g.difference) <= tolerance:
            assert g.status == UNVERIFIED
