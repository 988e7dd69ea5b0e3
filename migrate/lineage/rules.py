"""The field rules of a mapping, read as lineage: which legacy columns feed which column, how.

One reading serves both the OpenLineage column-lineage facet and ``lineage trace``, so the
graph a catalogue shows and the rule an auditor reads for one row cannot disagree. Nothing
here executes mapping text: expressions are shown as written and their columns come from
the spec's own ``source_columns()``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from migrate.spec.model import EntitySpec, Field_
from migrate.spec.steps import CrosswalkArgs, NoArgs, Step

Kind = Literal["identity", "transformed", "masked", "constant", "issued_key"]


@dataclass(frozen=True)
class ColumnRule:
    """How one target column is produced, in words an auditor can check against the YAML."""

    column: str
    kind: Kind
    origin: str
    direct: list[str] = field(default_factory=list)
    indirect: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    crosswalks: list[str] = field(default_factory=list)
    personal: str | None = None

    @property
    def description(self) -> str:
        text = self.origin + (" -> " + " -> ".join(self.steps) if self.steps else "")
        if self.personal:
            text += f" [personal: {self.personal}; masked outside staging]"
        return text


def step_text(step: Step) -> str:
    """``strip``, ``crosswalk(departments)``, ``date(format=%m/%d/%Y)``: the step as written."""
    if isinstance(step.args, NoArgs):
        return step.name
    if isinstance(step.args, CrosswalkArgs):
        return f"crosswalk({step.args.name})"
    args = ", ".join(f"{k}={v}" for k, v in step.args.model_dump(exclude_defaults=True).items())
    return f"{step.name}({args})" if args else step.name


def _origin(rule: Field_) -> str:
    if rule.const is not None:
        return f"constant {rule.const!r}"
    if rule.expr is not None:
        return f"expression {rule.expr}"
    if rule.lookup is not None:
        cols = ", ".join(rule.lookup.from_)
        return f"key-map lookup ({rule.lookup.domain}) of {cols}"
    if isinstance(rule.from_, list):
        return f"from {', '.join(rule.from_)} joined with {rule.join!r}"
    if rule.parts is not None:
        pieces = [p if isinstance(p, str) else (p.column or repr(str(p.const))) for p in rule.parts]
        return f"from parts {', '.join(pieces)} joined with {(rule.join or '')!r}"
    return f"from {rule.from_}"


def _kind(rule: Field_) -> Kind:
    if any(s.name == "mask" for s in rule.steps):
        return "masked"
    if rule.const is not None:
        return "constant"
    plain = isinstance(rule.from_, str) and rule.when is None and rule.default is None
    return "identity" if plain and not rule.steps else "transformed"


def field_rule(column: str, rule: Field_) -> ColumnRule:
    """Read one field: its direct inputs (value flows in) and indirect ones (a ``when`` test)."""
    cols = rule.source_columns()
    indirect = [rule.when.column] if rule.when else []
    direct = list(dict.fromkeys(c for c in cols if c not in indirect))
    steps = [step_text(s) for s in rule.steps]
    if rule.when is not None:
        steps.append(f"only when {rule.when.column} matches")
    if rule.default is not None:
        steps.append(f"default {rule.default!r}")
    crosswalks = [s.args.name for s in rule.steps if isinstance(s.args, CrosswalkArgs)]
    return ColumnRule(
        column, _kind(rule), _origin(rule), direct, indirect, steps, crosswalks, rule.personal
    )


def column_rules(spec: EntitySpec) -> list[ColumnRule]:
    """Every target column this entity fills, the issued ERP key first."""
    out: list[ColumnRule] = []
    ik = spec.issues_keys
    if ik is not None and ik.column not in spec.fields:
        origin = f"ERP key issued for legacy {', '.join(ik.legacy)} (key map {ik.domain})"
        out.append(ColumnRule(ik.column, "issued_key", origin, list(ik.legacy)))
    out.extend(field_rule(column, rule) for column, rule in spec.fields.items())
    for variant, fields in (spec.variants or {}).items():  # one target row per variant
        out.extend(field_rule(f"{variant}.{column}", rule) for column, rule in fields.items())
    return out


def filter_columns(spec: EntitySpec) -> list[tuple[str, str]]:
    """(rule name, legacy column) of every filter: rows dropped by these never reach staging."""
    return [(f.name, f.drop_when.column) for f in spec.source.filters]
