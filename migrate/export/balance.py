"""Journals that balance, checked before Oracle's journal import sees them.

The import rejects a journal whose debits and credits differ, and with it the whole batch.
Oracle's Journal Import makes one journal of the lines that share the source, category,
accounting date, currency, ledger, batch name (``REFERENCE1``) and journal name
(``REFERENCE4``); :class:`Balances` sums ``ENTERED_DR`` and ``ENTERED_CR`` per such group as
the rows are written, and names every group that does not balance, so the export fails
instead of handing the ERP a file it will refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

JOURNAL = (
    "USER_JE_SOURCE_NAME",
    "USER_JE_CATEGORY_NAME",
    "ACCOUNTING_DATE",
    "CURRENCY_CODE",
    "LEDGER_NAME",
    "REFERENCE1",
    "REFERENCE4",
)


@dataclass(frozen=True)
class BalanceRule:
    """Which columns make a journal, and its debit and credit columns."""

    group: tuple[str, ...] = JOURNAL
    debit: str = "ENTERED_DR"
    credit: str = "ENTERED_CR"


@dataclass
class Balances:
    """Debits, credits and the first row, per journal, as rows go by."""

    rule: BalanceRule
    sums: dict[tuple[Any, ...], list[Any]] = field(default_factory=dict)

    def add(self, row_number: int, row: dict[str, Any]) -> None:
        key = tuple(row.get(c) for c in self.rule.group)
        entry = self.sums.setdefault(key, [Decimal(0), Decimal(0), row_number])
        entry[0] += _amount(row.get(self.rule.debit))
        entry[1] += _amount(row.get(self.rule.credit))

    def unbalanced(self) -> list[tuple[int, str, str]]:
        """(first row, the journal, why) of every journal whose debits are not its credits."""
        out = []
        for key, (debit, credit, first) in self.sums.items():
            if debit != credit:
                named = ", ".join(
                    f"{c}={v}" for c, v in zip(self.rule.group, key, strict=True) if v is not None
                )
                why = (
                    f"journal unbalanced: debits {debit:,.2f}, credits {credit:,.2f}; Oracle's "
                    "journal import rejects it"
                )
                out.append((first, named, why))
        return sorted(out)


def _amount(value: Any) -> Decimal:
    """An amount to add; anything else (a value the export already refuses) counts 0 here."""
    return Decimal(value) if isinstance(value, Decimal | int) else Decimal(0)
