"""Row-set checks a mapping declares (journals balance, unique combinations...).

Most checks reject the rows that break them. Two only **warn**: ``flag`` and
``possible_duplicate`` load the row and record it in ``MIG_WARNINGS`` with a reason, for
finance to review (reconciliation re-derives the warnings from the staged rows and lists
them as exceptions). ``header_total``, ``totals_agree`` and ``balanced_across`` are rules
across entities, checked by reconciliation on both sides (legacy and staged), never by the
pipeline.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from migrate.spec.base import Strict
from migrate.spec.conditions import Condition


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


# the tests a flag's condition may use (the ones reconciliation re-derives in SQL)
FLAG_TESTS = frozenset({"column", "equals", "in_", "is_blank", "negate"})
# comparisons a flag takes on a money or integer column (``amount > 10000``)
FLAG_BOUNDS = ("less_than", "greater_than", "at_most", "at_least", "between")


class Flag(Strict):
    """A warning: rows whose **target** column meets ``when`` are loaded and flagged with
    ``reason`` (e.g. a zero amount) for finance to review; never rejected."""

    when: Condition = Field(
        description="a test on a target column: equals / in (a money column compares amounts:"
        " `0` is 0.00), is_blank, comparisons (money and integer columns), negate"
    )
    reason: str = Field(pattern=r"^[a-z][a-z0-9_]*$", description="the warning's reason code")

    @model_validator(mode="after")
    def _known_tests(self) -> Flag:
        extra = sorted(
            k
            for k in self.when.model_fields_set - FLAG_TESTS - set(FLAG_BOUNDS)
            if getattr(self.when, k) is not None
        )
        if extra:
            raise ValueError(
                f"a flag's condition takes equals, in, is_blank or comparisons, not {extra[0]}"
            )
        return self


class PossibleDuplicate(Strict):
    """A warning: a staged row of the run whose target ``columns`` all equal an earlier
    staged row's (same supplier, amount and date: a payment made twice?) is loaded and
    flagged; of n such rows, n - 1 are flagged. Rows with a blank in a column are not."""

    columns: list[str] = Field(min_length=1, description="target columns compared together")
    reason: str = Field(
        default="possible_duplicate",
        pattern=r"^[a-z][a-z0-9_]*$",
        description="the warning's reason code",
    )


class HeaderTotal(Strict):
    """A rule across entities: each header's amount equals the sum of its lines' amounts
    (within ``tolerance``). Checked by reconciliation on the staged rows of the run and on
    the legacy rows (each amount restated from the mappings): broken in staging only FAILs;
    already broken in the legacy data is an exception, listed with the legacy keys."""

    lines: str = Field(description="the entity of the lines")
    key: list[str] = Field(min_length=1, description="this (header) entity's target columns")
    lines_key: list[str] = Field(
        min_length=1, description="the lines' target columns naming their header, in that order"
    )
    header_amount: str = Field(description="the header's target money column")
    line_amount: str = Field(description="the lines' target money column")
    tolerance: str = Field(default="0", description="largest difference that holds, e.g. 0.01")
    reason: str = Field(default="header_total_mismatch", description="the rule's reason code")

    @model_validator(mode="after")
    def _same_width(self) -> HeaderTotal:
        if len(self.key) != len(self.lines_key):
            raise ValueError("key and lines_key need the same number of columns")
        return self


class TotalsAgree(Strict):
    """A rule across entities: per group (e.g. period), the sum of this entity's amount
    equals the sum of another entity's (an AP subledger equals its GL control account).
    Checked by reconciliation on the staged rows of the run and on the legacy rows (each
    column restated from the mappings), as ``header_total`` is."""

    other: str = Field(description="the other entity (e.g. the GL journal lines)")
    by: list[str] = Field(min_length=1, description="this entity's target columns to group by")
    other_by: list[str] = Field(
        min_length=1, description="the other entity's target columns, in the same order"
    )
    amount: str = Field(description="this entity's target money column")
    other_amount: str = Field(description="the other entity's target money column")
    other_less: str | None = Field(
        default=None, description="a money column of the other subtracted (credits less debits)"
    )
    other_when: Condition | None = Field(
        default=None,
        description="which of the other's rows count: a test on its target column, as a flag's"
        " (e.g. the control account)",
    )
    tolerance: str = Field(default="0", description="largest difference that holds")

    @model_validator(mode="after")
    def _same_width(self) -> TotalsAgree:
        if len(self.by) != len(self.other_by):
            raise ValueError("by and other_by need the same number of columns")
        if self.other_when is not None:
            Flag(when=self.other_when, reason="other_when")
        return self


class BalancedAcross(Strict):
    """A rule across entities: journals balance across every entity that feeds them (a
    payment's debit line staged by one mapping, its offset by another). Per ``group``, the
    sum of debits less credits over this entity's rows and the others' is zero. Checked by
    reconciliation on the staged rows of the run and on the legacy rows (restated)."""

    entities: list[str] = Field(
        min_length=1, description="the other entities feeding the same journals"
    )
    group: list[str] = Field(min_length=1, description="target columns naming a journal")
    debit: str = Field(description="target money column of debits")
    credit: str = Field(description="target money column of credits")
    tolerance: str = Field(default="0", description="largest imbalance that holds")


class Check(Strict):
    """One check (exactly one kind): most reject the rows that break them; ``flag`` and
    ``possible_duplicate`` warn; ``header_total``, ``totals_agree`` and ``balanced_across``
    are reconciliation's."""

    balanced: Balanced | None = None
    whole_group: WholeGroup | None = None
    unique: UniqueTogether | None = None
    open_period: DateWindow | None = None
    flag: Flag | None = Field(
        default=None, description="a warning: flag rows meeting a condition, load them anyway"
    )
    possible_duplicate: PossibleDuplicate | None = Field(
        default=None, description="a warning: flag rows equal to an earlier row of the run"
    )
    header_total: HeaderTotal | None = Field(
        default=None,
        description="a rule across entities, checked by reconciliation on both sides: the "
        "header's amount equals the sum of its lines'",
    )
    totals_agree: TotalsAgree | None = Field(
        default=None,
        description="a rule across entities, checked by reconciliation on both sides: sums "
        "per group agree with another entity's (a subledger and its control account)",
    )
    balanced_across: BalancedAcross | None = Field(
        default=None,
        description="a rule across entities, checked by reconciliation on both sides: "
        "journals balance over this entity's rows and the others'",
    )

    @model_validator(mode="after")
    def _one(self) -> Check:
        kinds = (
            self.balanced,
            self.whole_group,
            self.unique,
            self.open_period,
            self.flag,
            self.possible_duplicate,
            self.header_total,
            self.totals_agree,
            self.balanced_across,
        )
        if sum(x is not None for x in kinds) != 1:
            raise ValueError(
                "a check needs exactly one of: balanced, whole_group, unique, open_period, "
                "flag, possible_duplicate, header_total, totals_agree, balanced_across"
            )
        return self
