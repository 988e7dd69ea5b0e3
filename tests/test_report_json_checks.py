"""``from_json`` refuses a document edited after it was written: every written figure that
others determine must still agree with them (review of issue 19, item 2: a reject group and
its $63.8M removed, ``exceptions`` edited to match, was read back as a valid EXCEPTIONS
report; seen failing on 1de9d5a).

Checked on reading, per entity: the reject groups' counts add up to ``rejected_rows``, the
filtered rule counts to ``filtered_rows``; the groups' amounts per measure add up to that
measure's Rejected; the row differences counted by kind add up to ``difference_count``, and
no kind lists more than it counts; an amount's ``unreadable`` count is at least the rows
listed, and 0 exactly when none are; the written ``failures`` and ``exceptions`` are the
ones the figures give.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from reconcile.report import Reconciliation, RejectGroup
from reconcile.reports.report_json import from_json, to_json
from tests.test_workbook import _ap, _gl, _run
from tests.test_workbook_levels import _unverified

Doc = dict[str, Any]


def _two_reasons() -> Reconciliation:
    """ap_invoice's five rejects under two reasons (3 rows 65.00, 2 rows 0.20): removing one
    group still leaves an EXCEPTIONS entity, so the status alone cannot tell."""
    ap = _ap()
    (group,) = ap.rejects
    split = (
        replace(group, count=3, amounts=(("invoice_amount", Decimal("65.00")),)),
        RejectGroup("ap_invoice", "NEGATIVE_AMOUNT", 2, (("A9", "AMOUNT", "-0.10"),),
                    (("invoice_amount", Decimal("0.20")),)),
    )  # fmt: skip
    return Reconciliation(_run(), (_gl(), replace(ap, rejects=split)))


def _doc(report: Reconciliation | None = None) -> Doc:
    doc: Doc = json.loads(to_json(report or _two_reasons()))
    return doc


def _entity(doc: Doc, name: str) -> Doc:
    found: Doc = next(e for e in doc["entities"] if e["entity"] == name)
    return found


def test_an_unedited_document_reads_back_whole() -> None:
    for report in (Reconciliation(_run(), (_gl(), _ap())), _two_reasons(), _unverified()):
        assert from_json(to_json(report)) == report


def _drop_reject_group(doc: Doc) -> None:
    """jsonedit.py: the group and its exception line gone, nothing else changed."""
    ap = _entity(doc, "ap_invoice")
    ap["rejects"] = [g for g in ap["rejects"] if g["reason"] != "MISSING_SUPPLIER"]
    ap["exceptions"] = [x for x in ap["exceptions"] if "MISSING_SUPPLIER" not in x]


def _shrink_group_count(doc: Doc) -> None:
    ap = _entity(doc, "ap_invoice")
    ap["rejects"][0]["count"] = 1
    ap["exceptions"] = [x.replace("3 row(s)", "1 row(s)") for x in ap["exceptions"]]


def _shrink_group_amount(doc: Doc) -> None:
    ap = _entity(doc, "ap_invoice")
    ap["rejects"][0]["amounts"]["invoice_amount"] = "5.00"
    ap["exceptions"] = [x.replace("65.00", "5.00") for x in ap["exceptions"]]


def _drop_filtered_rule(doc: Doc) -> None:
    _entity(doc, "gl_journal")["filtered_by_rule"] = {}


def _edit_failures(doc: Doc) -> None:
    gl = _entity(doc, "gl_journal")
    gl["failures"] = gl["failures"][:1]


def _edit_exceptions(doc: Doc) -> None:
    _entity(doc, "ap_invoice")["exceptions"] = []


def _edit_difference_count(doc: Doc) -> None:
    _entity(doc, "gl_journal")["difference_count"] = 0


def _edit_difference_kinds(doc: Doc) -> None:
    _entity(doc, "gl_journal")["difference_kinds"] = {"changed": 0}


def _edit_unreadable(doc: Doc) -> None:
    _entity(doc, "gl_journal")["measures"][0]["unreadable"] = 1  # two rows listed


EDITS: dict[str, tuple[Callable[[Doc], None], str]] = {
    "reject group removed": (_drop_reject_group, "rejected_rows"),
    "reject count lowered": (_shrink_group_count, "rejected_rows"),
    "reject amount lowered": (_shrink_group_amount, "rejected"),
    "filtered rule removed": (_drop_filtered_rule, "filtered_rows"),
    "failures shortened": (_edit_failures, "failures"),
    "exceptions emptied": (_edit_exceptions, "exceptions"),
    "difference count zeroed": (_edit_difference_count, "difference"),
    "difference kinds zeroed": (_edit_difference_kinds, "difference"),
    "unreadable count lowered": (_edit_unreadable, "unreadable"),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_an_edited_document_is_refused(edit: str) -> None:
    change, named = EDITS[edit]
    doc = _doc(_unverified()) if edit.startswith("unreadable") else _doc()
    change(doc)
    with pytest.raises(ValueError, match=named):
        from_json(json.dumps(doc))
