"""Lookups answered in the background give the transform exactly what answered ones do.

With a resolver that has ``begin`` (``keymap.KeyResolver`` beside an overlapped write), the
engine asks every lookup before computing any field and takes the answers after the other
fields; the failures of a lookup field must still come in field order, since a reject's
first failure is its reason. Held here against the plain resolver, with lookups first, in
the middle and last, and rows failing a lookup and other fields at once.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from migrate.spec.model import EntitySpec
from migrate.transform.engine import transform

Answer = tuple[pd.Series, pd.Series, pd.Series]
MAP = {("supplier", "1"): 501, ("supplier", "2"): 502, ("requisition", "R1"): 9001}
REJECTED = {("supplier", "3")}  # its issuing entity rejected it: parent_rejected


def resolve(domain: str, system: str, legacy: pd.Series) -> Answer:
    keys = legacy.map(lambda k: MAP.get((domain, k))).astype("Int64")
    orphan = legacy.notna() & keys.isna()
    rejected = legacy.map(lambda k: (domain, k) in REJECTED).astype(bool) & orphan
    return keys, orphan, rejected


class Ahead:
    """A resolver answering later, as the background one does; records the order asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.answered: list[str] = []

    def __call__(self, domain: str, system: str, legacy: pd.Series) -> Answer:
        raise AssertionError("a resolver with begin is only asked through begin")

    def begin(self, domain: str, system: str, legacy: pd.Series) -> Callable[[], Answer]:
        self.asked.append(domain)

        def answer() -> Answer:
            self.answered.append(domain)
            return resolve(domain, system, legacy)

        return answer


def _spec(order: list[str]) -> EntitySpec:
    fields: dict[str, object] = {
        "VENDOR_ID": {"lookup": {"domain": "supplier", "from": ["VendorID"]}},
        "REQUISITION_NUMBER": {"lookup": {"domain": "requisition", "from": ["ReqID"]}},
        "ORDER_DATE": {"from": "PODate", "steps": [{"date": "%Y-%m-%d"}]},
        "TOTAL_AMOUNT": {"from": "Total", "steps": [{"money": "fixed"}]},
        "AGENT_NAME": {"from": "Buyer", "steps": ["collapse_spaces", "blank_to_null"]},
    }
    return EntitySpec.model_validate(
        {
            "entity": "purchase_orders",
            "domain": "procurement",
            "source": {"system": "procurement", "table": "PO", "key": ["PONumber"]},
            "target": {"table": "PO_HEADERS_INTERFACE", "key": ["DOCUMENT_NUM"]},
            "fields": {name: fields[name] for name in order},
        }
    )


ROWS = st.lists(
    st.tuples(
        st.sampled_from(["1", "2", "3", "9", "", " ", None]),
        st.sampled_from(["R1", "R2", "", None]),
        st.sampled_from(["2024-01-31", "2024-02-30", "", None]),
        st.sampled_from(["12.50", "1.234", "x", None]),
        st.sampled_from(["Ann  Lee", " ", None]),
    ),
    min_size=1,
    max_size=12,
)
ORDERS = st.permutations(
    ["VENDOR_ID", "REQUISITION_NUMBER", "ORDER_DATE", "TOTAL_AMOUNT", "AGENT_NAME"]
)


@settings(max_examples=150, deadline=None)
@given(ROWS, ORDERS)
def test_answers_taken_later_change_nothing(
    values: list[tuple[str | None, ...]], order: list[str]
) -> None:
    cols = ["VendorID", "ReqID", "PODate", "Total", "Buyer"]
    rows = pd.DataFrame(values, columns=cols, dtype="str")
    rows.insert(0, "PONumber", [f"PO{i}" for i in range(len(rows))])
    rows.index = pd.RangeIndex(100, 100 + len(rows))
    spec = _spec(order)
    now = transform(spec, rows, {}, resolve)
    ahead = Ahead()
    later = transform(spec, rows, {}, ahead)
    pd.testing.assert_frame_equal(later.frame, now.frame)
    assert list(later.frame.columns) == order
    pd.testing.assert_frame_equal(later.failures.to_frame(), now.failures.to_frame())
    lookups = [f for f in order if f in ("VENDOR_ID", "REQUISITION_NUMBER")]
    domains = {"VENDOR_ID": "supplier", "REQUISITION_NUMBER": "requisition"}
    assert ahead.asked == [domains[f] for f in lookups]  # all asked before any answer
    assert sorted(ahead.answered) == sorted(ahead.asked)


def test_failures_keep_field_order_when_a_row_fails_a_lookup_and_a_field() -> None:
    rows = pd.DataFrame(
        {
            "PONumber": ["PO1", "PO2"],
            "VendorID": ["9", "3"],  # an orphan, a rejected parent
            "ReqID": ["R1", "R2"],  # found, an orphan
            "PODate": ["2024-02-30", "2024-01-01"],
            "Total": ["1", "x"],
            "Buyer": ["A", "B"],
        },
        dtype="str",
    )
    order = ["ORDER_DATE", "VENDOR_ID", "TOTAL_AMOUNT", "REQUISITION_NUMBER", "AGENT_NAME"]
    out = transform(_spec(order), rows, {}, Ahead())
    cases = out.failures.to_frame().sort_values(["row", "order"], kind="stable")
    assert list(cases[["row", "column", "reason"]].itertuples(index=False, name=None)) == [
        (0, "ORDER_DATE", "invalid_date"),
        (0, "VENDOR_ID", "orphan_reference"),
        (1, "VENDOR_ID", "parent_rejected"),
        (1, "TOTAL_AMOUNT", "invalid_amount"),
        (1, "REQUISITION_NUMBER", "orphan_reference"),
    ]
