"""Row-set rules the ERP's import enforces, checked before the ERP sees the data.

They run after row-level validation, on a chunk that holds whole groups (journals stay in
one chunk): a journal with a rejected line is rejected whole (``journal_incomplete``),
then every remaining journal must balance (``unbalanced_journal``); no two rows may share
a declared combination (``duplicate_invoice_number``); dates fall in open periods.
"""

from __future__ import annotations

import pandas as pd

from migrate.spec.model import Balanced, Check, DateWindow, UniqueTogether, WholeGroup
from migrate.transform.failures import Failures


def apply_checks(
    checks: list[Check],
    frame: pd.DataFrame,
    failures: Failures,
    history: pd.DataFrame | None = None,
) -> None:
    for check in checks:
        if check.whole_group is not None:
            _whole_group(check.whole_group, frame, failures)
        elif check.balanced is not None:
            _balanced(check.balanced, frame, failures)
        elif check.unique is not None:
            _unique(check.unique, frame, failures, history)
        elif check.open_period is not None:
            _open_period(check.open_period, frame, failures)


def _group_key(frame: pd.DataFrame, columns: list[str]) -> pd.Series:
    out = frame[columns[0]].astype("str").fillna("")
    for c in columns[1:]:
        out = out + "|" + frame[c].astype("str").fillna("")
    return out


def _whole_group(rule: WholeGroup, frame: pd.DataFrame, failures: Failures) -> None:
    """An exact duplicate line is dropped without breaking its group; other failures do."""
    failed = failures.any_mask(ignore=frozenset({"duplicate_key"}))
    groups = _group_key(frame, rule.group)
    bad_groups = set(groups[failed])
    mask = groups.isin(bad_groups) & ~failures.any_mask()
    failures.add(mask, rule.group[0], rule.reason, groups)


def _balanced(rule: Balanced, frame: pd.DataFrame, failures: Failures) -> None:
    ok = ~failures.any_mask()
    groups = _group_key(frame, rule.group)
    sums = (
        pd.DataFrame(
            {
                "g": groups[ok],
                "dr": frame.loc[ok, rule.debit].fillna(0).astype("int64"),
                "cr": frame.loc[ok, rule.credit].fillna(0).astype("int64"),
            }
        )
        .groupby("g")
        .sum()
    )
    unbalanced = set(sums.index[sums["dr"] != sums["cr"]])
    failures.add(ok & groups.isin(unbalanced), rule.group[0], rule.reason, groups)


def _unique(
    rule: UniqueTogether, frame: pd.DataFrame, failures: Failures, history: pd.DataFrame | None
) -> None:
    ok = ~failures.any_mask()
    keys = _group_key(frame, rule.columns)
    dup = keys.where(ok).duplicated(keep="first") & ok
    if history is not None and len(history):
        seen = set(_group_key(history, rule.columns))
        dup = dup | (ok & keys.isin(seen))
    failures.add(dup, rule.columns[-1], rule.reason, keys)


def _open_period(rule: DateWindow, frame: pd.DataFrame, failures: Failures) -> None:
    dates = frame[rule.column]
    start, end = pd.Timestamp(rule.start), pd.Timestamp(rule.end)
    mask = dates.notna() & ((dates < start) | (dates > end))
    failures.add(mask, rule.column, rule.reason, dates)
