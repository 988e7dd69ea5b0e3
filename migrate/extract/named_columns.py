"""Every source column a mapping names, with the key path that names it.

``mappings check`` reports a column the source does not have at the line that names it
(``fields.GROSS_PAY.from``, ``reconcile.measures.0.source_column``), and a file read at run
time is checked against the same list before its first chunk, so a file changed after the
check stops the run in one line instead of a pandas ``KeyError``. A field's columns come from
``Field_.source_columns()`` (so a new way of naming a column is checked once it is listed
there); each is placed at the most precise key known, else at the field.
"""

from __future__ import annotations

from difflib import get_close_matches

from migrate.errors import SchemaMismatch
from migrate.spec.model import EntitySpec, Field_
from migrate.spec.parts import part_columns
from migrate.transform.expr import columns_of

KeyPath = tuple[str | int, ...]
LINE = "_line"


def named_columns(spec: EntitySpec) -> list[tuple[KeyPath, str]]:
    """(key path, column) for every source column the mapping names, in file order."""
    src = spec.source
    out: list[tuple[KeyPath, str]] = [(("source", "key", i), c) for i, c in enumerate(src.key)]
    out += [(("source", "group_by", i), c) for i, c in enumerate(src.group_by or [])]
    if src.delta_column:
        out.append((("source", "delta_column"), src.delta_column))
    out += [
        (("source", "filters", i, "drop_when", "column"), r.drop_when.column)
        for i, r in enumerate(src.filters)
    ]
    if spec.issues_keys is not None:
        out += [(("issues_keys", "legacy", i), c) for i, c in enumerate(spec.issues_keys.legacy)]
    for name, rule in spec.fields.items():
        out += [(_where(name, rule, c), c) for c in dict.fromkeys(rule.source_columns())]
    for variant, fields in (spec.variants or {}).items():  # one target row per variant
        for name, rule in fields.items():
            out += [
                (("variants", variant, *_where(name, rule, c)[1:]), c)
                for c in dict.fromkeys(rule.source_columns())
            ]
    for i, m in enumerate(spec.reconcile.measures):
        out.append((("reconcile", "measures", i, "source_column"), m.source_column))
        if m.sign_column:
            out.append((("reconcile", "measures", i, "sign_column"), m.sign_column))
    for i, g in enumerate(spec.reconcile.grains):
        for j, item in enumerate(g.pieces):
            pieces = item if isinstance(item, list) else [item]
            path = ("reconcile", "grains", i, "source", j)
            out += [(path, c) for p in pieces for c in part_columns(p)]
    return out


def _where(name: str, rule: Field_, column: str) -> KeyPath:
    """The most precise key path of a field that names ``column``."""
    here: KeyPath = ("fields", name)
    if rule.from_ == column:
        return (*here, "from")
    if isinstance(rule.from_, list) and column in rule.from_:
        return (*here, "from", rule.from_.index(column))
    if rule.when is not None and rule.when.column == column:
        return (*here, "when", "column")
    if rule.lookup is not None and column in rule.lookup.from_:
        return (*here, "lookup", "from", rule.lookup.from_.index(column))
    if rule.expr and column in columns_of(rule.expr):
        return (*here, "expr")
    for i, item in enumerate(rule.parts or []):
        if column in part_columns(item):
            return (*here, "parts", i)
    for i, step in enumerate(rule.steps):
        if column in step.source_columns():
            return (*here, "steps", i)
    return here


def did_you_mean(name: str, choices: list[str]) -> str:
    """`` (did you mean 'x'?)``: a name differing only in case or surrounding blanks first
    (``GROSS`` for ``Gross``, which a plain similarity ratio misses), then a close match."""
    folded = [c for c in choices if c.strip().casefold() == name.strip().casefold()]
    close = folded or get_close_matches(name, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def missing_columns(
    spec: EntitySpec, have: list[str], virtual: frozenset[str] = frozenset({LINE})
) -> list[tuple[KeyPath, str, str]]:
    """(key path, column, hint) for each named column not in ``have`` nor ``virtual`` (a
    file's ``_line``)."""
    known = set(have) | virtual
    return [(where, c, did_you_mean(c, have)) for where, c in named_columns(spec) if c not in known]


def headerless_hint(spec: EntitySpec, have: list[str], missing: int) -> str:
    """When a header names none of the columns the mapping names, the first record was
    probably data: say how to declare a file without a header."""
    f = spec.source.file
    named = {c for _, c in named_columns(spec)} - {LINE}
    if f is None or not f.header or f.fixed is not None or not named or missing < len(named):
        return ""
    return (  # the record's values are not shown: they may be personal data
        f"its first record ({len(have)} fields) names none of the columns the mapping names: "
        "if the file has no header row, declare header: false and its columns in order"
    )


def refuse_missing(spec: EntitySpec, name: str, have: list[str]) -> None:
    """Stop before a file's first chunk when it lacks a column the mapping names (a file
    changed since ``mappings check``): one line, not a ``KeyError`` mid-run."""
    missing = missing_columns(spec, have)
    if not missing:
        return
    where, column, hint = missing[0]
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    headerless = headerless_hint(spec, have, len({c for _, c, _ in missing}))
    raise SchemaMismatch(
        f"{spec.entity}: {name} has no column {column!r}{hint}, named at "
        f"{'.'.join(map(str, where))}{more}" + (f"; {headerless}" if headerless else "")
    )
