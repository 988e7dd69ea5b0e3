"""The reconciliation report: frozen results that the workbook and the JSON are built from.

Amounts are ``Decimal`` throughout (never float). A difference within a declared tolerance
is ``"PASS"`` but still shown with its value.

A verdict is a claim finance signs, so it has three levels, per entity and overall:

- ``PASS``: every source row staged or filtered by a named rule, no rejects, every amount
  read and every compared column verified;
- ``EXCEPTIONS``: the identity holds, but rows were rejected (listed by reason with their
  amounts), columns could not be verified, or nothing of a non-empty source was staged;
  finance must accept each exception on the Sign-off sheet;
- ``FAIL``: any gap, difference, unreadable amount (an ``UNVERIFIED`` measure, and each of
  its grain lines whose known figures hold ``UNVERIFIED`` too) or broken rule.

Each line's status is a property here, computed once: the workbook and the JSON both write
it, so the two reports cannot judge a line differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

PASS, EXCEPTIONS, FAIL = "PASS", "EXCEPTIONS", "FAIL"
UNVERIFIED = "UNVERIFIED"  # a measure with values reconciliation cannot read: a failing status
LEVELS = (PASS, EXCEPTIONS, FAIL)


def worst(statuses: list[str]) -> str:
    """The overall level of several: FAIL before EXCEPTIONS before PASS."""
    return max(statuses, key=LEVELS.index, default=PASS)


@dataclass(frozen=True)
class MeasureIdentity:
    """source = staged + rejected + filtered, for one amount column of one entity.

    ``unreadable`` counts the legacy values reconciliation could not read as an amount at
    any scale (never counted as 0: the measure is then ``UNVERIFIED``); ``unreadable_rows``
    lists the first of them as (source key, value).

    Under a rounding policy (``rounding_rule`` says which) the Source is the legacy total at
    its own precision and the staged rows carry a rounding: ``rounding`` is what staging
    shows (staged - (source - rejected - filtered)), ``rounding_expected`` what
    reconciliation restates row by row from the ``rounded_rows`` legacy values finer than a
    cent, and ``rounding_bound`` the most those rows can carry (rows x half a cent; for
    truncate, rows x (a cent less one unit of the source scale)). The identity then reads
    source + expected rounding = staged + rejected + filtered, and a rounding beyond its
    bound fails too."""

    measure: str
    source_rule: str  # e.g. "SUM(AMT_CENTS)/100 where DR_CR_IND in ('D')"
    target_column: str
    source: Decimal
    staged: Decimal
    rejected: Decimal
    filtered: Decimal
    tolerance: Decimal
    unreadable: int = 0
    unreadable_rows: tuple[tuple[str, str], ...] = ()
    rounding_rule: str = ""  # e.g. "rounded half even (a tie to the even cent) from 4 decimals"
    rounded_rows: int = 0
    rounding_expected: Decimal = Decimal(0)
    rounding_bound: Decimal = Decimal(0)

    @property
    def difference(self) -> Decimal:
        return self.source + self.rounding_expected - self.staged - self.rejected - self.filtered

    @property
    def rounding(self) -> Decimal:
        """The rounding staging shows: staged - (source - rejected - filtered)."""
        return self.staged - (self.source - self.rejected - self.filtered)

    @property
    def rounding_status(self) -> str:
        """PASS when the rounding staging shows is within its bound (always without a policy)."""
        if not self.rounding_rule:
            return PASS
        return PASS if abs(self.rounding) <= self.rounding_bound else FAIL

    @property
    def status(self) -> str:
        if self.unreadable:
            return UNVERIFIED
        if self.rounding_status == FAIL:
            return FAIL
        return PASS if abs(self.difference) <= self.tolerance else FAIL


@dataclass(frozen=True)
class GrainRow:
    """Control total of one measure for one grain value (e.g. fund x account x period).

    ``unreadable`` is its measure's count of legacy values reconciliation could not read
    (set by the entity that holds the line, from that measure): which line holds them is
    not known, so no line of the measure can be proved. ``status`` is the line's one
    verdict, written as it is by the workbook and the JSON alike."""

    grain: str
    key: tuple[str, ...]
    measure: str
    source: Decimal
    staged: Decimal
    rejected: Decimal
    filtered: Decimal
    tolerance: Decimal
    unreadable: int = 0

    @property
    def difference(self) -> Decimal:
        return self.source - self.staged - self.rejected - self.filtered

    @property
    def status(self) -> str:
        """FAIL when the known figures are off; else UNVERIFIED when values of the measure
        were not read (a failing status, never PASS); else PASS."""
        if abs(self.difference) > self.tolerance:
            return FAIL
        return UNVERIFIED if self.unreadable else PASS


@dataclass(frozen=True)
class RowDifference:
    """One keyed row mismatch: missing in staging, unexpected in staging, or changed."""

    entity: str
    source_key: str
    # "missing" | "unexpected" | "changed" | "filtered_wrongly" (reconcile/proving/filtered.py)
    kind: str
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
    level: str = FAIL  # a rule declared as a warning: EXCEPTIONS (finance reviews the rows)

    @property
    def status(self) -> str:
        return PASS if self.violations == 0 else self.level


@dataclass(frozen=True)
class RejectGroup:
    entity: str
    reason: str
    count: int
    sample: tuple[tuple[str, str | None, str | None], ...]  # (source key, column, value)
    amounts: tuple[tuple[str, Decimal], ...] = ()  # (measure, total of the rejected rows)
    # each sample row's own amounts, in the order of ``amounts`` (read from the source as the
    # totals are); empty where the reconciliation did not keep them
    sample_amounts: tuple[tuple[Decimal, ...], ...] = ()


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
    not_verified: tuple[tuple[str, str], ...] = ()  # (column, why reconciliation cannot restate it)
    difference_count: int = -1  # all row differences found (``differences`` may list the first)
    # what fails beside the checks: a mapping changed since the run, rows no entity claims
    problems: tuple[str, ...] = ()
    difference_kinds: tuple[tuple[str, int], ...] = ()  # (kind, all found of it)
    # every difference as zlib-compressed CSV lines (reconcile/proving/differences.py): the full
    # list
    # goes to a CSV file beside the workbook; not part of the figures compared
    differences_csv: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        """Each grain line carries its measure's unread count, whoever built the entity
        (the proving code, ``from_json``, a test): a line's status then cannot say PASS
        beside an amount that is UNVERIFIED, in any report that reads it."""
        unread = {m.measure: m.unreadable for m in self.measures}
        grains = tuple(
            g if g.unreadable == unread.get(g.measure, 0)
            else replace(g, unreadable=unread.get(g.measure, 0))
            for g in self.grains
        )  # fmt: skip
        object.__setattr__(self, "grains", grains)

    @property
    def count_difference(self) -> int:
        return self.source_rows - self.staged_rows - self.rejected_rows - self.filtered_rows

    @property
    def grains_status(self) -> str:
        """The level of its grain lines (the Summary's grain line): FAIL before UNVERIFIED
        before PASS."""
        statuses = {g.status for g in self.grains}
        return next((s for s in (FAIL, UNVERIFIED) if s in statuses), PASS)

    @property
    def differences_found(self) -> int:
        return self.difference_count if self.difference_count >= 0 else len(self.differences)

    @property
    def failures(self) -> list[str]:
        """Why the entity fails, in words (empty when it does not)."""
        out = list(self.problems)
        if self.count_difference:
            out.append(f"{self.count_difference:+,} rows unaccounted")
        if n := sum(m.status == FAIL for m in self.measures):
            out.append(f"{n} amount gap(s)")
        if n := sum(m.rounding_status == FAIL for m in self.measures):
            out.append(f"{n} rounding line(s) beyond their bound")
        if n := sum(m.unreadable for m in self.measures):
            out.append(f"{n:,} legacy amount(s) reconciliation cannot read (unverified)")
        if n := sum(g.status == FAIL for g in self.grains):
            out.append(f"{n} grain row(s) off")
        if n := self.differences_found:
            out.append(f"{n:,} row difference(s)")
        if n := sum(r.violations for r in self.rules if r.level == FAIL):
            out.append(f"{n:,} rule violation(s)")
        return out

    @property
    def exceptions(self) -> list[str]:
        """What finance must accept before signing (the identity holds): rejects by reason,
        columns not verified, nothing staged of a non-empty source."""
        out = []
        if self.source_rows and not self.staged_rows:
            out.append(f"nothing staged: all {self.source_rows:,} source rows rejected or filtered")
        for g in self.rejects:
            money = "".join(f", {m} {v:,}" for m, v in g.amounts)
            out.append(f"{g.count:,} row(s) rejected as {g.reason}{money}")
        for column, why in self.not_verified:
            out.append(f"column {column} not verified: {why}")
        for r in self.rules:
            if r.level != FAIL and r.violations and r.rule.startswith("warning "):
                out.append(f"{r.violations:,} row(s) flagged by {r.rule} (a warning, loaded)")
            elif r.level != FAIL and r.violations:  # a rule across entities: legacy, not verified
                detail = f" ({r.detail})" if r.detail else ""
                out.append(f"{r.rule}: {r.violations:,}{detail}")
        return out

    @property
    def status(self) -> str:
        if self.failures:
            return FAIL
        return EXCEPTIONS if self.exceptions else PASS


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
    audit_anchor: dict[str, object] | None = None  # the audit log's head (audit_anchors.py)


@dataclass(frozen=True)
class Reconciliation:
    run: RunFacts
    entities: tuple[EntityReconciliation, ...] = field(default_factory=tuple)

    @property
    def verdict(self) -> str:
        """The worst entity's level; a reconciliation of no entity proves nothing: FAIL."""
        return worst([e.status for e in self.entities]) if self.entities else FAIL
