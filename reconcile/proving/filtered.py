"""Rows the pipeline says it filtered, restated from the legacy rows, never taken on trust.

A filtered row counts on the right of ``source = staged + rejected + filtered`` as if it
were accounted for; so a staged row deleted after the run and recorded in ``MIG_FILTERED``
kept the identity whole and reconciled PASS. Each filtered row's claim is restated here,
exactly as the pipeline decides it:

- its rule must be one the mapping declares (``source.filters``), or the supplier merge's
  ``merged_into_existing_record`` where the mapping merges (``issues_keys.merge_on``);
- a declared rule must be the *first* the legacy row meets: the pipeline applies the
  filters in order and counts a row under the first whose ``drop_when`` holds (tested on
  the legacy row as a field's ``when`` is, ``restate_pieces.condition_holds``);
- a merged row meets no filter (filters apply first), and its legacy key (the columns of
  ``issues_keys.legacy``) maps in ``MIG_KEY_MAP`` to an ERP key that a staged row of the
  target table holds (``reconcile/proving/erpkeys.py``): the record it was merged into exists.
  Whether the two records really match (tax id, or name and address) is not restated.

A row that fails its claim is a ``filtered_wrongly`` difference naming the key, the legacy
evidence and the claim, and fails its entity. The other way round (a staged row whose
legacy row meets a filter) is found by the restated-column diff (``restated.py``, the
pseudo-column :data:`FILTERS`), since it streams every staged row anyway.

Cost: one pass over the legacy side, only for an entity with filtered rows, stopping when
every filtered key is found; memory holds the filtered keys (already in memory as the
run's outcomes).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, replace

from migrate.spec.model import EntitySpec, Filter
from reconcile.proving.erpkeys import erp_keys, staged_keys
from reconcile.proving.restate_pieces import condition_holds, condition_text
from reconcile.proving.restate_steps import Unreadable
from reconcile.reading.sources import key_string
from reconcile.reading.staging_side import Staging
from reconcile.report import RowDifference

MERGE_RULE = "merged_into_existing_record"
KIND = "filtered_wrongly"
FILTERS = "(filters)"  # the pseudo-column of the restated diff: the filter a row meets

Records = Callable[[], Iterator[Mapping[str, object]]]  # the legacy rows, streamed


@dataclass(frozen=True)
class FilteredCheck:
    differences: tuple[RowDifference, ...] = ()
    not_verified: tuple[tuple[str, str], ...] = ()


def first_rule(spec: EntitySpec, record: Mapping[str, object]) -> str | None:
    """The first filter whose condition this legacy row meets (the one the pipeline names).
    None also when a filter cannot decide first (a comparison on a value that is no number):
    the pipeline rejects that row (``invalid_number``), it filters it by no rule."""
    for f in spec.source.filters:
        try:
            if condition_holds(f.drop_when, record):
                return f.name
        except Unreadable:
            return None
    return None


def undecided(spec: EntitySpec, record: Mapping[str, object]) -> str | None:
    """The reason a filter cannot decide this row before any filter drops it, if one."""
    for f in spec.source.filters:
        try:
            if condition_holds(f.drop_when, record):
                return None
        except Unreadable as exc:
            return f"filter {f.name!r} cannot decide it ({exc}): the row is to be rejected"
    return None


def merges(spec: EntitySpec) -> bool:
    return spec.issues_keys is not None and bool(spec.issues_keys.merge_on)


def filter_columns(spec: EntitySpec) -> list[str]:
    """The legacy columns the filters test."""
    return list(dict.fromkeys(f.drop_when.column for f in spec.source.filters))


def staged_but_dropped(spec: EntitySpec, d: RowDifference) -> RowDifference:
    """A restated-diff difference in :data:`FILTERS` as what it means: a staged row whose
    legacy row meets a filter."""
    rule = next(f for f in spec.source.filters if f.name == d.source_value)
    return replace(
        d,
        kind=KIND,
        column=None,
        source_value=f"the legacy row meets filter {rule.name!r} ({_drops(rule)})",
        staged_value="staged, not filtered",
    )


def _drops(rule: Filter) -> str:
    return f"drop when {condition_text(rule.drop_when)}"


def check_filtered(
    spec: EntitySpec,
    st: Staging,
    filtered: Collection[tuple[str, str]],
    records: Records | None,
) -> FilteredCheck:
    """Each (rule, source key) restated; ``records``: a call streaming the legacy rows as
    dicts (``restated.legacy_records``), or None where that side cannot be read here."""
    declared = {f.name: f for f in spec.source.filters}
    wrong: list[RowDifference] = []
    pending: dict[str, str] = {}
    for rule, key in filtered:
        if rule in declared or (rule == MERGE_RULE and merges(spec)):
            pending[key] = rule
        else:
            why = "the mapping merges no records" if rule == MERGE_RULE else "no such rule"
            wrong.append(_wrong(spec, key, rule, None, f"the mapping has {why}"))
    if not pending:
        return FilteredCheck(tuple(wrong))
    if records is None:
        why = "the legacy side cannot be read here, so the rows filtered are not restated"
        return FilteredCheck(tuple(wrong), (("(filtered rows)", why),))
    merged: dict[str, str] = {}  # source key -> its issuing legacy key
    for record in records():
        key = key_string([record.get(c) for c in spec.source.key])
        claimed = pending.pop(key, None)
        if claimed is not None:
            wrong += _claim(spec, key, claimed, record, merged)
        if not pending:
            break
    # keys left pending are in no legacy row: the main row diff reports them (unexpected)
    wrong += _merged(spec, st, merged)
    return FilteredCheck(tuple(wrong))


def _claim(
    spec: EntitySpec,
    key: str,
    rule: str,
    record: Mapping[str, object],
    merged: dict[str, str],
) -> list[RowDifference]:
    first = first_rule(spec, record)
    if rule == MERGE_RULE:
        if first is None:
            assert spec.issues_keys is not None
            merged[key] = key_string([record.get(c) for c in spec.issues_keys.legacy])
            return []
        why = f"the legacy row meets filter {first!r} first, so it cannot have been merged"
        return [_wrong(spec, key, rule, record, why)]
    if first == rule:
        return []
    rules = {f.name: f for f in spec.source.filters}
    why = undecided(spec, record) or f"the legacy row does not meet it ({_drops(rules[rule])})"
    if first is not None:
        why = f"the legacy row meets {first!r} first ({_drops(rules[first])})"
    return [_wrong(spec, key, rule, record, why)]


def _merged(spec: EntitySpec, st: Staging, merged: dict[str, str]) -> list[RowDifference]:
    """Merged rows whose legacy key maps to no ERP key, or to one no staged row holds."""
    if not merged:
        return []
    ik = spec.issues_keys
    assert ik is not None
    found = erp_keys(st, ik.domain, spec.source.system, merged.values())
    held = staged_keys(st, spec.target.table, ik.column, found.values())
    wrong = []
    for key, legacy in merged.items():
        erp = found.get(legacy)
        if erp is None:
            why = f"MIG_KEY_MAP records no {ik.domain} key for legacy key {legacy!r}"
        elif erp not in held:
            why = f"its {ik.domain} key {erp} (MIG_KEY_MAP) is held by no staged row"
        else:
            continue
        wrong.append(_wrong(spec, key, MERGE_RULE, None, why))
    return wrong


def _wrong(
    spec: EntitySpec,
    key: str,
    rule: str,
    record: Mapping[str, object] | None,
    why: str,
) -> RowDifference:
    return RowDifference(
        spec.entity,
        key,
        KIND,
        None,
        _evidence(spec, record),
        f"filtered by {rule!r}: {why}",
    )


def _evidence(spec: EntitySpec, record: Mapping[str, object] | None) -> str | None:
    """The legacy values the filters test (a column a personal field reads is not shown)."""
    if record is None:
        return None
    personal = {c for f in spec.fields.values() if f.personal for c in _reads(f.from_)}
    shown = [
        f"{c} = {record.get(c)!r}" if c not in personal else f"{c} = (personal, not shown)"
        for c in filter_columns(spec)
    ]
    return "; ".join(shown) or None


def _reads(origin: str | list[str] | None) -> list[str]:
    return [origin] if isinstance(origin, str) else list(origin or [])
