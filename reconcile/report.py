"""The reconciliation report: frozen results that the workbook and the JSON are built from.

Amounts are ``Decimal`` throughout (never float). ``status`` is ``"PASS"`` or ``"FAIL"``;
a difference within a declared tolerance is ``"PASS"`` but still shown with its value.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True)
class MeasureIdentity:
    """source = staged + rejected + filtered, for one amount column of one entity."""

    measure: str
    source_rule: str  # e.g. "SUM(AMT_CENTS)/100 where DR_CR_IND in ('D')"
    target_column: str
    source: Decimal
    staged: Decimal
    rejected: Decimal
    filtered: Decimal
    tolerance: Decimal

    @property
    def difference(self) -> Decimal:
        return self.source - self.staged - self.rejected - self.filtered

    @property
    def status(self) -> str:
        return "PASS" if abs(self.difference) <= self.tolerance else "FAIL"


@dataclass(frozen=True)
class GrainRow:
    """Control total of one measure for one grain value (e.g. fund x account x period)."""

    grain: str
    key: tuple[str, ...]
    measure: str
    source: Decimal
    staged: Decimal
    rejected: Decimal
    filtered: Decimal
    tolerance: Decimal

    @property
    def difference(self) -> Decimal:
        return self.source - self.staged - self.rejected - self.filtered

    @property
    def status(self) -> str:
        return "PASS" if abs(self.difference) <= self.tolerance else "FAIL"


@dataclass(frozen=True)
class RowDifference:
    """One keyed row mismatch: missing in staging, unexpected in staging, or changed."""

    entity: str
    source_key: str
    kind: str  # "missing" | "unexpected" | "changed"
    column: str | None = None
    source_value: str | None = None
    staged_value: str | None = None


@dataclass(frozen=True)
class RuleResult:
    """An ERP rule checked on staging: journals balance, every reference resolves."""

    entity: str
    rule: str
    violations: int
    detail: str = ""

    @property
    def status(self) -> str:
        return "PASS" if self.violations == 0 else "FAIL"


@dataclass(frozen=True)
class RejectGroup:
    entity: str
    reason: str
    count: int
    sample: tuple[tuple[str, str | None, str | None], ...]  # (source key, column, value)


@dataclass(frozen=True)
class EntityReconciliation:
    entity: str
    source_table: str
    target_table: str
    source_rows: int
    staged_rows: int
    rejected_rows: int
    filtered_rows: int
    filtered_by_rule: dict[str, int]
    measures: tuple[MeasureIdentity, ...]
    grains: tuple[GrainRow, ...]
    differences: tuple[RowDifference, ...]
    rules: tuple[RuleResult, ...]
    rejects: tuple[RejectGroup, ...]
    compared: tuple[str, ...] = ()  # text columns: the rule diffed by, or why not diffed
    row_diff: str = ""  # how the keyed diff was done: buckets, rows pulled, how each side was read

    @property
    def count_difference(self) -> int:
        return self.source_rows - self.staged_rows - self.rejected_rows - self.filtered_rows

    @property
    def status(self) -> str:
        ok = (
            self.count_difference == 0
            and all(m.status == "PASS" for m in self.measures)
            and all(g.status == "PASS" for g in self.grains)
            and not self.differences
            and all(r.status == "PASS" for r in self.rules)
        )
        return "PASS" if ok else "FAIL"


@dataclass(frozen=True)
class RunFacts:
    run_id: str
    mode: str
    started_at: str
    ended_at: str | None
    started_by: str | None
    mapping_hashes: dict[str, str]
    source_identity: dict[str, str]  # connection URLs with passwords redacted
    staging_identity: str
    reconciled_at: str


@dataclass(frozen=True)
class Reconciliation:
    run: RunFacts
    entities: tuple[EntityReconciliation, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        return "PASS" if all(e.status == "PASS" for e in self.entities) else "FAIL"
