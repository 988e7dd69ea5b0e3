"""What an entity with ``variants`` must declare, checked when its mapping is loaded.

Two variants of one source row are two staged rows: their target keys must differ for
every row, or the second would be a ``duplicate_key`` of the first (half a journal). That is
proved from the mapping alone: some target key column is, in every variant, either a
``const`` (a different one in each) or ``parts`` ending (or starting) with a ``const`` piece
(none of them a suffix, or prefix, of another: with ``D`` and ``-D``, payment ``P1-``'s
first line and payment ``P1``'s second are both ``P1-D``), without steps,
``when`` or ``default`` that could change or blank it.
"""

from __future__ import annotations

from collections.abc import Callable

from migrate.errors import SpecError
from migrate.spec.model import EntitySpec, Field_
from migrate.spec.parts import as_part
from migrate.spec.yamlsource import SourceText


def variant_errors(spec: EntitySpec, text: SourceText) -> list[SpecError]:
    if spec.variants is None:
        return []
    where = text.locate(("variants",))
    errors: list[SpecError] = []
    if spec.issues_keys is not None:
        errors.append(SpecError(where, "an entity with variants cannot issue keys (issues_keys)"))
    if spec.reconcile.grains:
        errors.append(
            SpecError(
                text.locate(("reconcile", "grains")),
                "reconcile.proving.grains on an entity with variants is not supported yet "
                "(reconciliation does not restate them per variant): remove them",
            )
        )
    rules = [spec.variant_fields(v) for v in spec.variants]
    for i, m in enumerate(spec.reconcile.measures):
        filling = [r[m.target_column] for r in rules if m.target_column in r]
        if not any(m.source_column in f.source_columns() for f in filling):
            errors.append(
                SpecError(
                    text.locate(("reconcile", "measures", i, "source_column")),
                    f"measure {m.name}: no variant fills {m.target_column} from "
                    f"{m.source_column} (with variants, a measure's legacy side is restated "
                    "from the fields filling its target column, once per variant)",
                )
            )
    if not any(_apart([r.get(k) for r in rules]) for k in spec.target.key):
        errors.append(
            SpecError(
                where,
                "the variants' target keys could collide: some column of target.key "
                f"({', '.join(spec.target.key)}) must be, in every variant, a `const` "
                "(a different one in each) or `parts` ending with a different `const` "
                '(e.g. REFERENCE21: {parts: [PAY_ID, {const: "-DR"}]} and '
                '{parts: [PAY_ID, {const: "-CR"}]})',
            )
        )
    return errors


def _apart(rules: list[Field_ | None]) -> bool:
    """Whether these rules (one per variant, for one key column) never give equal values."""
    if any(r is None or r.steps or r.when is not None or r.default is not None for r in rules):
        return False
    fixed = [r for r in rules if r is not None]
    if all(r.const is not None for r in fixed):
        values = [str(r.const).strip() for r in fixed]
        return len(set(values)) == len(values)
    ends = [_end(r, -1) for r in fixed]
    starts = [_end(r, 0) for r in fixed]
    return _free(ends, str.endswith) or _free(starts, str.startswith)


def _end(rule: Field_, at: int) -> str | None:
    """The constant text at one end of a ``parts`` field (or its whole ``const``)."""
    if rule.const is not None:
        return str(rule.const).strip()
    if not rule.parts:
        return None
    piece = as_part(rule.parts[at])
    if piece.const is None:
        return None
    sep = rule.join or ""
    text = str(piece.const)
    return (sep + text if at == -1 else text + sep) if len(rule.parts) > 1 else text


def _free(ends: list[str | None], covers: Callable[[str, str], bool]) -> bool:
    """None empty and none an end of another (pairwise): the values must then differ."""
    if any(e is None or e == "" for e in ends):
        return False
    texts = [e for e in ends if e is not None]
    return all(not covers(a, b) for i, a in enumerate(texts) for j, b in enumerate(texts) if i != j)
