"""The Legend sheet: every word and code the workbook uses, in a sentence a controller reads.

The reject reason codes are the pipeline's (``migrate/transform/failures.py``, the mapping
rules in ``migrate/spec/checks.py``, the readers' ``unreadable_record``); the sentences here
are written for finance, not for the mapping author. ``tests/test_workbook_legend.py``
checks that every code the tool can emit has one; a code declared only in a mapping (a
warning's own reason) is listed under it as "named by the mapping".
"""

from __future__ import annotations

from openpyxl.worksheet.worksheet import Worksheet

from reconcile.report import Reconciliation
from reconcile.reports.workbook_style import (
    BOLD,
    TITLE_FONT,
    finish_table,
    header,
    put,
    widths,
    wrap_column,
)
from reconcile.reports.workbook_text import ESCAPE_LEGEND

REASONS: dict[str, str] = {
    "required_missing": "A value the ERP requires (a supplier, a date, an account...) is blank "
    "in the legacy row.",
    "invalid_date": "The legacy date is not a real date in the format the mapping declares "
    "(for example 2023-02-30 or 00/00/00).",
    "invalid_amount": "The legacy amount is not a readable amount (letters, stray symbols, or "
    "more decimals than the mapping allows).",
    "inexact_float": "The legacy system stored the amount as a floating-point number that is "
    "not exactly an amount in cents, so it could not be taken over without guessing.",
    "invalid_format": "The value does not have the required shape (for example a tax id or a "
    "bank account with the wrong number of digits).",
    "invalid_number": "A number was expected (to compare or compute with) and the legacy value "
    "is not one.",
    "division_by_zero": "The mapping computes this value by a division (expr) and the legacy "
    "values make it a division by zero, so there is no value to take over.",
    "invalid_value": "The value is not one of the values the ERP allows for that field.",
    "out_of_range": "The value is outside the range the ERP allows for that field.",
    "negative_amount": "The amount is negative where the ERP allows no negative amount.",
    "too_long": "The text is longer than the ERP field can hold; it was not cut.",
    "unmapped_code": "The legacy code has no entry in the crosswalk (code translation table), "
    "so there is no ERP code to give it.",
    "orphan_reference": "The row refers to a legacy record (a supplier, an invoice, a worker) "
    "that does not exist.",
    "parent_rejected": "The row belongs to a record that was itself rejected (for example an "
    "invoice line whose invoice was rejected), so it cannot be loaded on its own.",
    "duplicate_key": "Another legacy row with the same key came first; this one was not loaded "
    "twice.",
    "duplicate_invoice_number": "The supplier already has an invoice with this number.",
    "unbalanced_journal": "The journal's debits do not equal its credits.",
    "journal_incomplete": "Another line of the same journal was rejected, so the whole journal "
    "was held back (a journal is loaded complete or not at all).",
    "variant_incomplete": "The legacy row becomes several ERP rows and one of them was "
    "rejected, so none of them was loaded.",
    "closed_period": "The accounting date falls in a period that is closed in the ERP.",
    "unreadable_record": "The legacy record cannot be read as its layout declares (damaged "
    "bytes, a short record, text that is not in the declared encoding); the bytes are shown.",
    "not_an_amount": "A legacy amount that is not money at all (for example O00208241.12, a "
    "letter O typed for a zero). It is never counted as 0: the amount's total is UNVERIFIED.",
    "invalid_boolean": "A yes/no value was expected and the legacy value is neither (for "
    "example 'Y?' or '2').",
    "invalid_decimal": "A number with decimals was expected and the legacy value is not one, "
    "or has more decimals than the ERP field holds.",
    "possible_duplicate": "A warning: another row has the same values in the columns the "
    "mapping compares; the row was loaded and flagged for review.",
    "zero_amount": "A warning: the amount is zero; the row was loaded and flagged for review.",
    "header_total_mismatch": "The header's total is not the sum of its lines.",
    "other_when": "A warning: the row matched the mapping's 'other' condition; it was loaded "
    "and flagged for review.",
}

KINDS: dict[str, str] = {
    "Not read": "A legacy amount reconciliation could not read as money. It is never counted "
    "as 0: the amount's total is UNVERIFIED, which fails the entity.",
    "Rejected": "The row was refused and not loaded; it is kept with its reason. Its amount is "
    "in the Rejected column of the totals.",
    "Filtered": "The row was left out on purpose by a rule named in the mapping (for example "
    "reversed entries). Its amount is in the Filtered column.",
}

DIFFERENCE_KINDS: dict[str, str] = {
    "missing": "missing in staging: in the legacy system, not staged, not rejected, not filtered",
    "unexpected": "unexpected in staging: staged, but not in the legacy system",
    "changed": "changed: staged with a value other than the legacy one",
    "filtered_wrongly": "filtered wrongly: left out by a rule that does not apply to it",
}

STATUSES: dict[str, str] = {
    "PASS": "Everything on the line is accounted for (a difference within its tolerance is "
    "still shown with its value).",
    "EXCEPTIONS": "The totals hold, but something needs finance's acceptance on the Sign-off "
    "sheet (rejected rows, a column that could not be checked).",
    "FAIL": "Something does not add up. Do not sign; the line says where.",
    "UNVERIFIED": "An amount reconciliation could not read; a failing status.",
}

OTHER: tuple[tuple[str, str], ...] = (
    ("(1,234.56)", "A negative amount (accounting format); '-' is zero."),
    ("Source = Staged + Rejected + Filtered", "The identity every row count and every amount "
     "must satisfy; Difference = Source - Staged - Rejected - Filtered."),
    ("\\x00, \\r, \\udcff", ESCAPE_LEGEND),
)  # fmt: skip


def reason_text(code: str) -> str:
    """The sentence for a reject reason code; a code a mapping named itself says so."""
    return REASONS.get(code, f"A reason named by the mapping ('{code}'); see its rule.")


def difference_kind(kind: str) -> str:
    return DIFFERENCE_KINDS.get(kind, kind).split(":")[0]


def write_legend(ws: Worksheet, report: Reconciliation) -> None:
    """Statuses, kinds, every reason code (those of this report first, marked), other marks."""
    put(ws, 1, 1, "Legend").font = TITLE_FONT
    put(ws, 2, 1, "What the words and codes in this workbook mean.")
    header(ws, 3, ("Term or code", "Meaning", "In this workbook"))
    row = 4
    used = {g.reason for e in report.entities for g in e.rejects}
    kinds = {d.kind for e in report.entities for d in e.differences}
    sections = (
        ("Statuses", [(k, v, "") for k, v in STATUSES.items()]),
        ("Kinds of exception (sheet Exceptions)", [(k, v, "") for k, v in KINDS.items()]),
        ("Reasons (column Code; a warning: loaded and flagged)", _reasons(report, used)),
        ("Kinds of row difference (sheet Differences)",
         [(difference_kind(k), v.split(": ", 1)[-1], "yes" if k in kinds else "")
          for k, v in DIFFERENCE_KINDS.items()]),
        ("Other marks", [(k, v, "") for k, v in OTHER]),
    )  # fmt: skip
    for title, lines in sections:
        put(ws, row, 1, title).font = BOLD
        row += 1
        for term, meaning, here in lines:
            put(ws, row, 1, term)
            put(ws, row, 2, meaning)
            put(ws, row, 3, here)
            row += 1
    finish_table(ws, 3, row - 1, 3)
    ws.auto_filter.ref = None
    widths(ws, (30, 100, 16))
    wrap_column(ws, 1, range(4, row))
    wrap_column(ws, 2, range(4, row))


def _reasons(report: Reconciliation, used: set[str]) -> list[tuple[str, str, str]]:
    rows: dict[str, int] = {}
    for e in report.entities:
        for g in e.rejects:
            rows[g.reason] = rows.get(g.reason, 0) + g.count
    codes = sorted(used) + sorted(set(REASONS) - used)
    return [(c, reason_text(c), f"{rows[c]:,} row(s)" if c in rows else "") for c in codes]


__all__ = ["REASONS", "difference_kind", "reason_text", "write_legend"]
