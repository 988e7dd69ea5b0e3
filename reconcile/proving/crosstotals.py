"""Sums per group that two entities must share: an AP subledger equals its GL control
account by period (``checks: [{totals_agree: {...}}]``), checked on both sides.

- **Staged side**: one grouped SQL sum per entity over the run's rows (the other's rows
  narrowed by ``other_when``, the flag's own SQL: ``reconcile/proving/warnings.py``), in cents.
- **Legacy side**: each entity's legacy rows read by reconciliation itself, less those its
  mapping's filters drop (restated, ``filtered.py``); every column the rule names (group,
  amount, the condition's column) restated from the mapping's field by reconciliation's own
  reading of its steps (``restate.py``), so a group value is the value staging must hold,
  and summed per group.

``balanced_across`` is the same machinery with a sum of zero: per journal, debits less
credits over every entity that feeds it.

As for ``header_total`` (``crossrules.py``): a group off in staging that holds in the legacy
data, with no row of it rejected or filtered, FAILs; off in the legacy data already, or off
where rows were rejected or filtered, is an exception (listed); a column that cannot be
restated (a lookup, an issued key), the other entity not part of the run, or an amount that
cannot be read: not verified, never PASS.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from migrate.spec.checks import FLAG_BOUNDS, BalancedAcross, Flag, TotalsAgree
from migrate.spec.loader import Project
from migrate.spec.model import Condition, EntitySpec, Field_
from migrate.staging.types import cents_sql
from reconcile.proving import restate_steps as R
from reconcile.proving.crossrules import SHOW, Legacy, Unverifiable, exact_key, joined, money_text
from reconcile.proving.filtered import filter_columns, first_rule
from reconcile.proving.restate import Restated, column_kind, target_column
from reconcile.proving.restated import legacy_records
from reconcile.proving.warnings import condition_sql
from reconcile.reading.staging_side import Staging, outcomes
from reconcile.report import EXCEPTIONS, FAIL, RuleResult

Group = tuple[str, ...]


def rule_name(spec: EntitySpec, rule: TotalsAgree) -> str:
    less = f" - SUM {rule.other_less}" if rule.other_less else ""
    where = f" where {rule.other_when.column} holds" if rule.other_when is not None else ""
    return (
        f"totals agree: SUM {spec.entity}.{rule.amount} = SUM {rule.other}.{rule.other_amount}"
        f"{less}{where}, per {', '.join(rule.by)} (tolerance {rule.tolerance})"
    )


def check_totals_agree(
    project: Project,
    spec: EntitySpec,
    rule: TotalsAgree,
    st: Staging,
    legacy: Legacy,
    workdir: Path | None,
    staged_entities: set[str],
) -> list[RuleResult]:
    name = rule_name(spec, rule)
    if rule.other not in project.entities or rule.other not in staged_entities:
        why = f"the other entity ({rule.other}) was not part of the run"
        if rule.other not in project.entities:
            why = f"no entity {rule.other!r} in the mappings"
        return [RuleResult(spec.entity, f"{name}: not verified", 1, why, EXCEPTIONS)]
    other = project.spec(rule.other)
    mine_side = _Side(spec, rule.by, rule.amount, None, None)
    other_side = _Side(other, rule.other_by, rule.other_amount, rule.other_less, rule.other_when)
    tol = Decimal(rule.tolerance) * 100
    try:
        staged = (mine_side.staged(st), other_side.staged(st))
        read = (
            mine_side.legacy(project, legacy, workdir),
            other_side.legacy(project, legacy, workdir),
        )
    except Unverifiable as exc:
        return [RuleResult(spec.entity, f"{name}: not verified", 1, str(exc), EXCEPTIONS)]
    unread = read[0].unread | read[1].unread
    staged_off = _off(staged[0], staged[1], tol)
    legacy_off = _off(read[0].sums, read[1].sums, tol)
    cut = read[0].cut(st, spec) | read[1].cut(st, other)
    return outcome(spec, name, (staged_off, legacy_off), cut, unread)


def outcome(
    spec: EntitySpec,
    name: str,
    off: tuple[Mapping[Group, tuple[int, int]], Mapping[Group, tuple[int, int]]],
    cut: set[Group],
    unread: set[Group],
) -> list[RuleResult]:
    """The rule's lines: groups off in staging only (FAIL), off in the legacy data already,
    off where rows were rejected or filtered, and groups with amounts no one can read."""
    staged_off = off[0]
    legacy_off = {g: v for g, v in off[1].items() if g not in unread}
    broken = {g: v for g, v in staged_off.items() if g not in legacy_off and g not in cut | unread}
    explained = {g: v for g, v in staged_off.items() if g not in legacy_off and g in cut | unread}
    out = [
        RuleResult(spec.entity, f"{name}: in staging", len(broken), _detail(broken), FAIL),
        RuleResult(
            spec.entity,
            f"{name}: already off in the legacy data (not the migration's doing)",
            len(legacy_off),
            _detail(legacy_off),
            EXCEPTIONS,
        ),
    ]
    if explained:
        text = f"{name}: off in staging where rows were rejected or filtered"
        out.append(RuleResult(spec.entity, text, len(explained), _detail(explained), EXCEPTIONS))
    if unread:
        text = f"{name}: not verified for groups with legacy amounts that cannot be read"
        shown = ", ".join(" | ".join(g) for g in sorted(unread)[:SHOW])
        out.append(RuleResult(spec.entity, text, len(unread), shown, EXCEPTIONS))
    return out


def check_balanced_across(
    project: Project,
    spec: EntitySpec,
    rule: BalancedAcross,
    st: Staging,
    legacy: Legacy,
    workdir: Path | None,
    staged_entities: set[str],
) -> list[RuleResult]:
    """Per journal, debits less credits over this entity's rows and the others' is zero."""
    name = (
        f"journals balance across {', '.join([spec.entity, *rule.entities])}: SUM "
        f"{rule.debit} = SUM {rule.credit} per {', '.join(rule.group)} (tolerance {rule.tolerance})"
    )
    missing = [e for e in rule.entities if e not in project.entities or e not in staged_entities]
    if missing:
        why = f"{', '.join(missing)}: not part of the run (or not in the mappings)"
        return [RuleResult(spec.entity, f"{name}: not verified", 1, why, EXCEPTIONS)]
    specs = [spec, *(project.spec(e) for e in rule.entities)]
    sides = [_Side(s, rule.group, rule.debit, rule.credit, None) for s in specs]
    tol = Decimal(rule.tolerance) * 100
    try:
        staged = [side.staged(st) for side in sides]
        read = [side.legacy(project, legacy, workdir) for side in sides]
    except Unverifiable as exc:
        return [RuleResult(spec.entity, f"{name}: not verified", 1, str(exc), EXCEPTIONS)]
    none: dict[Group, int] = {}
    staged_off = _off(_summed(staged), none, tol)
    legacy_off = _off(_summed([r.sums for r in read]), none, tol)
    cut = set().union(*(r.cut(st, s) for r, s in zip(read, specs, strict=True)))
    unread = set().union(*(r.unread for r in read))
    return outcome(spec, name, (staged_off, legacy_off), cut, unread)


def _summed(parts: list[dict[Group, int]]) -> dict[Group, int]:
    out: dict[Group, int] = {}
    for part in parts:
        for g, v in part.items():
            out[g] = out.get(g, 0) + v
    return out


def _off(
    mine: Mapping[Group, int], other: Mapping[Group, int], tol: Decimal
) -> dict[Group, tuple[int, int]]:
    return {
        g: (mine.get(g, 0), other.get(g, 0))
        for g in sorted(set(mine) | set(other))
        if abs(mine.get(g, 0) - other.get(g, 0)) > tol
    }


def _detail(rows: Mapping[Group, tuple[int, int]]) -> str:
    return "; ".join(
        f"{' | '.join(g)}: {money_text(a)} <> {money_text(b)}"
        for g, (a, b) in list(rows.items())[:SHOW]
    )


class _Legacy:
    """One entity's legacy sums per group, the groups it could not read, and each source
    key's group."""

    def __init__(self) -> None:
        self.sums: dict[Group, int] = {}
        self.unread: set[Group] = set()
        self.group_of: dict[str, Group] = {}

    def cut(self, st: Staging, spec: EntitySpec) -> set[Group]:
        done = outcomes(st, spec.entity)
        keys = (*done.rejected, *(k for _, k in done.filtered))
        return {self.group_of[k] for k in keys if k in self.group_of}


class _Side:
    """One entity's part of the rule: group columns, amount (less another), condition."""

    def __init__(
        self,
        spec: EntitySpec,
        by: list[str],
        amount: str,
        less: str | None,
        when: Condition | None,
    ) -> None:
        self.spec, self.by, self.amount, self.less, self.when = spec, by, amount, less, when
        self.amounts = [amount] if less is None else [amount, less]

    def _kind(self, column: str) -> str:
        found = target_column(self.spec.target.table, column)
        kind = column_kind(found) if found is not None else None
        if kind is None:
            raise Unverifiable(f"{self.spec.target.table}.{column}: no such staging column")
        return kind

    def staged(self, st: Staging) -> dict[Group, int]:
        q = st.engine.dialect.identifier_preparer.quote
        dialect = st.engine.dialect.name
        for column in self.amounts:
            if self._kind(column) != "money":
                raise Unverifiable(f"{self.spec.target.table}.{column} is not a money column")
        keys = [exact_key(f"t.{q(c)}", dialect) for c in self.by]
        total = " - ".join(
            f"SUM(COALESCE({cents_sql(f't.{q(c)}', dialect)}, 0))" for c in self.amounts
        )
        cond = ""
        params: dict[str, object] = {}
        if self.when is not None:
            flag = Flag(when=self.when, reason="when")
            sql, params = condition_sql(st, flag, self._flag_kind(self.when.column))
            cond = f" AND {sql}"
        rows = st.query(
            f"SELECT {', '.join(keys)}, {total} FROM {st.table(self.spec.target.table)} t"
            f" WHERE t.{q('MIG_RUN_ID')} = :run AND t.{q('MIG_ENTITY')} = :entity{cond}"
            f" GROUP BY {', '.join(keys)}",
            entity=self.spec.entity,
            **params,
        )
        n = len(self.by)
        return {tuple(_text(v) for v in r[:n]): int(str(r[n] or 0)) for r in rows}

    def _flag_kind(self, column: str) -> str:
        kind = self._kind(column)
        if kind in ("date", "datetime"):
            raise Unverifiable(f"{column}: a date condition is not re-derived")
        return kind

    def legacy(self, project: Project, legacy: Legacy, workdir: Path | None) -> _Legacy:
        named = [*self.by, *self.amounts, *([self.when.column] if self.when else [])]
        # one view per staged line a legacy row gives: its fields, or each variant's
        views = [
            {c: self._restated(c, fields) for c in dict.fromkeys(named)} for fields in self._views()
        ]
        reads = [c for v in views for r in v.values() if r is not None for c in r.source_columns()]
        cols = [*self.spec.source.key, *reads, *filter_columns(self.spec)]
        records = legacy_records(self.spec, list(dict.fromkeys(cols)), legacy(self.spec), workdir)
        if records is None:
            raise Unverifiable(f"{self.spec.entity}: its legacy rows cannot be read here")
        crosswalks = {n: c.codes for n, c in project.crosswalks.items()}
        out = _Legacy()
        for record in records():
            if first_rule(self.spec, record) is not None:
                continue  # a row the mapping's filters drop is no part of what it stages
            for restated in views:
                self._line(out, record, restated, crosswalks)
        return out

    def _line(
        self,
        out: _Legacy,
        record: Mapping[str, object],
        restated: Mapping[str, Restated | None],
        crosswalks: Mapping[str, Mapping[str, str]],
    ) -> None:
        """One staged line a legacy row gives, added to its group's sum."""
        values = {
            c: None if r is None else _value(r, record, crosswalks) for c, r in restated.items()
        }
        group = tuple(values[c] or "" for c in self.by)
        out.group_of.setdefault(joined(record, self.spec.source.key), group)
        if self.when is not None:
            kind = self._kind(self.when.column)
            if not holds(self.when, values[self.when.column], kind):
                return
        try:
            cents = [_cents(values[c]) for c in self.amounts]
        except ValueError:
            out.unread.add(group)
            return
        out.sums[group] = out.sums.get(group, 0) + cents[0] - (cents[1] if len(cents) > 1 else 0)

    def _views(self) -> list[dict[str, Field_]]:
        spec = self.spec
        if spec.variants is None:
            return [dict(spec.fields)]
        return [spec.variant_fields(v) for v in spec.variants]

    def _restated(self, column: str, fields: Mapping[str, Field_]) -> Restated | None:
        """A column's rule in one view; a variant that does not fill it stages it blank."""
        field = fields.get(column)
        kind = self._kind(column)
        if field is None:
            if self.spec.variants is not None and column in self.spec.filled_columns():
                return None
            raise Unverifiable(f"{self.spec.entity}: no field fills {column}")
        if field.lookup is not None:
            raise Unverifiable(f"{self.spec.entity}.{column} is a lookup: not restated here")
        return Restated(column, field, kind, self.spec.source.system)


_UNREAD = "\x00unreadable"


def _value(
    r: Restated, record: Mapping[str, object], crosswalks: Mapping[str, Mapping[str, str]]
) -> str | None:
    try:
        return r.canonical(r.value(record, crosswalks), source=True)
    except (R.Unreadable, ValueError, ArithmeticError):
        return _UNREAD


def _cents(text: str | None) -> int:
    if text == _UNREAD:
        raise ValueError(text)
    return 0 if text is None else int(Decimal(text).scaleb(2))


def holds(w: Condition, value: str | None, kind: str) -> bool:
    """The condition on a restated (canonical) target value, as the flag's SQL reads it."""
    if value == _UNREAD:
        return False
    present = value is not None and value.strip() != ""
    if w.is_blank is not None:
        hit = (not present) if w.is_blank else present
    elif any(getattr(w, b, None) is not None for b in FLAG_BOUNDS):
        hit = present and _within(Decimal(value or "0") * (100 if kind == "money" else 1), w, kind)
    else:
        wanted = [w.equals] if w.in_ is None else list(w.in_)
        if kind == "money":
            hit = present and Decimal(value or "0") in {Decimal(str(v)) for v in wanted}
        elif kind == "integer":
            hit = present and int(value or "0") in {int(str(v)) for v in wanted}
        else:
            hit = present and (value or "").strip().upper() in {
                str(v).strip().upper() for v in wanted
            }
    return not hit if w.negate else hit


def _within(number: Decimal, w: Condition, kind: str) -> bool:
    scale = 100 if kind == "money" else 1
    for name in FLAG_BOUNDS:
        given = getattr(w, name, None)
        if given is None:
            continue
        if name == "between":
            low, high = Decimal(str(given[0])) * scale, Decimal(str(given[1])) * scale
            if not low <= number <= high:
                return False
            continue
        bound = Decimal(str(given)) * scale
        ok = {
            "less_than": number < bound,
            "greater_than": number > bound,
            "at_most": number <= bound,
            "at_least": number >= bound,
        }[name]
        if not ok:
            return False
    return True


def _text(value: object) -> str:
    """A staged group value as the legacy side's canonical text ("" for none)."""
    if value is None:
        return ""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
