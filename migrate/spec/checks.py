"""Row-set checks a mapping declares (journals balance, unique combinations...)."""

from __future__ import annotations

from pydantic import model_validator

from migrate.spec.base import Strict


class Balanced(Strict):
    """Per group, the sum of debits equals the sum of credits (journals)."""

    group: list[str]
    debit: str
    credit: str
    reason: str = "unbalanced_journal"


class WholeGroup(Strict):
    """If any row of a group is rejected, reject the rest too (a journal loads whole)."""

    group: list[str]
    reason: str = "journal_incomplete"


class UniqueTogether(Strict):
    """No two rows share these target columns (e.g. invoice number per supplier)."""

    columns: list[str]
    reason: str = "duplicate_key"


class DateWindow(Strict):
    """Target dates fall in open accounting periods."""

    column: str
    start: str
    end: str
    reason: str = "closed_period"


class Check(Strict):
    balanced: Balanced | None = None
    whole_group: WholeGroup | None = None
    unique: UniqueTogether | None = None
    open_period: DateWindow | None = None

    @model_validator(mode="after")
    def _one(self) -> Check:
        if (
            sum(
                x is not None
                for x in (self.balanced, self.whole_group, self.unique, self.open_period)
            )
            != 1
        ):
            raise ValueError(
                "a check needs exactly one of: balanced, whole_group, unique, open_period"
            )
        return self
