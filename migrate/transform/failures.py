"""Row failures collected while a chunk is transformed and validated.

Each failure names a column (the target field's; for a blank source key, the key's first
source column), a stable reason code and the offending value. A row with several failures
becomes one reject row whose reason is its first failure (a blank key first, then in field
order) and whose message lists them all, so ``rejected`` counts rows, not problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

REASONS: dict[str, str] = {
    "required_missing": "a required value is blank",
    "invalid_date": "not a valid date in the declared format",
    "invalid_amount": (
        "not a valid amount with at most two decimals, or with at most the money step's "
        "declared scale"
    ),
    "inexact_float": (
        "a floating-point amount that is not exactly one amount of the declared scale (its "
        "shortest decimal form has more decimals, or it is too large to tell cents apart)"
    ),
    "invalid_format": "does not match the required format",
    "invalid_boolean": "no spelling of true or false the target column accepts",
    "invalid_decimal": "not a number that fits the column's precision and scale",
    "invalid_number": "not a number where the mapping compares or computes one",
    "division_by_zero": "a division by zero where the mapping computes a value (expr)",
    "invalid_value": "not one of the allowed values",
    "out_of_range": "outside the allowed range",
    "negative_amount": "negative where no negative amount may be",
    "too_long": "longer than the target column allows",
    "unmapped_code": "legacy code has no crosswalk entry",
    "orphan_reference": "refers to a legacy record that does not exist",
    "parent_rejected": "refers to a legacy record that was rejected",
    "duplicate_key": "another row with the same target key came first",
    "duplicate_invoice_number": "invoice number already used for this supplier",
    "unbalanced_journal": "journal debits do not equal credits",
    "journal_incomplete": "another line of the same journal was rejected",
    "variant_incomplete": "another variant (target row) of the same source row was rejected",
    "closed_period": "accounting date outside the open periods",
    "unreadable_record": "the extract's record cannot be read as its layout declares",
}

# Columns a source reader may add to a chunk to reject a record it could not read (a short
# fixed-width record, a bad packed digit): the reason code, the field and the raw value
# shown safely. The transform rejects such rows before computing any field.
READ_REASON, READ_COLUMN, READ_VALUE = "_read_reason", "_read_column", "_read_value"
READ_COLUMNS = (READ_REASON, READ_COLUMN, READ_VALUE)


@dataclass
class Failures:
    """Accumulates (row mask, column, reason, offending values) for one chunk."""

    index: pd.Index
    items: list[tuple[pd.Series, str, str, pd.Series]] = field(default_factory=list)

    def add(self, mask: pd.Series, column: str, reason: str, values: pd.Series) -> None:
        mask = mask.fillna(False).astype(bool)
        if bool(mask.any()):
            self.items.append((mask, column, reason, values))

    def refused(self, column: str) -> pd.Series:
        """Rows whose value for ``column`` was already refused (it is not also blank)."""
        out = pd.Series(False, index=self.index)
        for mask, failed, _reason, _values in self.items:
            if failed == column:
                out |= mask.reindex(self.index, fill_value=False)
        return out

    def any_mask(self, ignore: frozenset[str] = frozenset()) -> pd.Series:
        """Rows with at least one failure (optionally not counting some reasons)."""
        out = pd.Series(False, index=self.index)
        for mask, _column, reason, _values in self.items:
            if reason not in ignore:
                out |= mask
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per (failing row, failure): index, column, reason, value."""
        parts = []
        for order, (mask, column, reason, values) in enumerate(self.items):
            idx = mask[mask].index
            vals = values.reindex(idx) if len(values) else pd.Series(None, index=idx)
            parts.append(
                pd.DataFrame(
                    {
                        "row": idx,
                        "order": order,
                        "column": column,
                        "reason": reason,
                        "value": vals.astype("object")
                        .where(vals.notna(), None)
                        .map(lambda v: None if v is None else shown(str(v)))
                        .to_numpy(),
                    }
                )
            )
        if not parts:
            return pd.DataFrame(columns=["row", "order", "column", "reason", "value"])
        return pd.concat(parts, ignore_index=True)


_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")


def shown(value: str) -> str:
    """An offending value as stored and shown: NUL and the other control characters (but
    the six ASCII blanks) written ``\\xNN``, so PostgreSQL takes it and a workbook cell
    can hold it (``1<NUL>2`` is ``1\\x002``, never ``1``)."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value)


def add_read_failures(rows: pd.DataFrame, failures: Failures) -> None:
    """Reject the rows a source reader marked unreadable (see :data:`READ_REASON`)."""
    if READ_REASON not in rows.columns:
        return
    marked = rows[rows[READ_REASON].notna()]
    for (reason, column), group in marked.groupby([READ_REASON, READ_COLUMN], dropna=False):
        mask = pd.Series(rows.index.isin(group.index), index=rows.index)
        name = str(column) if isinstance(column, str) else "_record"
        failures.add(mask, name, str(reason), rows[READ_VALUE].astype("object"))
