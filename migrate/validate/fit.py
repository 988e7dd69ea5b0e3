"""What a mapping's field can put into a declared target column, checked before any run.

``migrate mappings check`` asks, offline, for every field that fills a column of a user's
target definition (:mod:`migrate.targets`): can any value the rule writes be staged?
A constant or default outside the column's ``allowed`` list, longer than its ``length``, or
no spelling of a boolean; crosswalk codes the column refuses; a mapping's own ``allowed``
value the definition refuses; ``required: false`` on a column the definition requires; a
``format`` the tool cannot check. Each is a :class:`~migrate.errors.SpecError` at the
mapping's (or, for the format, the definition's) ``file:line``; validation would otherwise
reject every such row at run time, or a check would pass unseen.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Column, String

from migrate.errors import SpecError
from migrate.spec.model import Field_
from migrate.spec.steps import CrosswalkArgs
from migrate.validate.coerce import target_kind
from migrate.validate.declared import allowed_values, definition, format_problem, spellings

if TYPE_CHECKING:
    from migrate.spec.loader import Crosswalk, LoadedEntity
    from migrate.targets.loader import LoadedTable

Located = tuple[tuple[str | int, ...], str]


def field_fit(
    ent: LoadedEntity,
    at: tuple[str, ...],
    rule: Field_,
    column: Column[Any],
    crosswalks: Mapping[str, Crosswalk],
) -> list[SpecError]:
    """Problems of one field filling one declared column, at the mapping's lines."""
    if definition(column) is None:
        return []
    return [
        SpecError(ent.text.locate((*at, *path)), f"{column.table.name}.{column.name}: {why}")
        for path, why in _problems(rule, column, crosswalks)
    ]


def _problems(
    rule: Field_, column: Column[Any], crosswalks: Mapping[str, Crosswalk]
) -> Iterator[Located]:
    if getattr(definition(column), "required", False) and rule.required is False:
        yield ("required",), "the definition requires a value; required: false cannot stage none"
    kind = target_kind(column)
    if kind == "boolean":
        yield from _boolean(rule, column)
    for key in ("const", "default"):
        value = getattr(rule, key)
        if _from_definition(value, column):
            continue  # the definition's own default: checked at its line there
        if value is not None and kind != "boolean":
            yield from (((key,), why) for why in _refusals(str(value), column, kind))
    if rule.allowed is not None:
        allowed = allowed_values(column, kind)
        for i, value in enumerate(rule.allowed):
            refused = allowed is not None and _as(value, kind) not in allowed
            if refused:
                yield ("allowed", i), f"{value!r} is not one of the definition's allowed values"
    for i, step in enumerate(rule.steps):
        if isinstance(step.args, CrosswalkArgs) and step.args.name in crosswalks:
            codes = sorted(set(crosswalks[step.args.name].codes.values()))
            bad = [c for c in codes if c and _refusals(c, column, kind)]
            if bad:
                shown = ", ".join(repr(c) for c in bad[:5]) + (" ..." if len(bad) > 5 else "")
                yield (
                    ("steps", i),
                    (
                        f"crosswalk {step.args.name} gives {len(bad)} code(s) the column refuses: "
                        f"{shown}"
                    ),
                )


def _boolean(rule: Field_, column: Column[Any]) -> Iterator[Located]:
    true, false = spellings(column)
    for key in ("const", "default"):
        value = getattr(rule, key)
        if _from_definition(value, column):
            continue
        spelt = (
            value is None or isinstance(value, bool) or str(value).strip().lower() in true | false
        )
        if not spelt:
            known = ", ".join(sorted(true | false))
            yield (key,), f"{value!r} is no spelling of a boolean (accepted: {known})"


def _from_definition(value: Any, column: Column[Any]) -> bool:
    """The value is the definition's ``default:`` (the loader fills a field with it, see
    :func:`migrate.targets.declared.with_definition_defaults`): said at the definition."""
    default = getattr(definition(column), "default", None)
    return value is not None and default is not None and str(value) == str(default)


def _default_problems(column: Column[Any]) -> list[str]:
    """What the column refuses of its own definition's ``default:``."""
    default = getattr(definition(column), "default", None)
    if default is None:
        return []
    kind = target_kind(column)
    if kind != "boolean":
        return _refusals(str(default), column, kind)
    true, false = spellings(column)
    if isinstance(default, bool) or str(default).strip().lower() in true | false:
        return []
    return [
        f"{default!r} is no spelling of a boolean (accepted: {', '.join(sorted(true | false))})"
    ]


def _as(value: Any, kind: str) -> Any:
    """A value as the column's ``allowed`` list holds it (text as text, numbers exact)."""
    try:
        if kind == "integer":
            return int(value)
        if kind == "decimal":
            return Decimal(str(value))
    except (ValueError, ArithmeticError):
        return value
    return str(value) if kind == "text" else value


def _refusals(value: str, column: Column[Any], kind: str) -> list[str]:
    out: list[str] = []
    allowed = allowed_values(column, kind)
    if allowed is not None and _as(value, kind) not in allowed:
        out.append(f"{value!r} is not one of the allowed values")
    length = column.type.length if isinstance(column.type, String) else None
    if length is not None and len(value) > length:
        out.append(f"{value!r} is longer than the column's {length} characters")
    return out


def definition_problems(loaded: LoadedTable, table: Any) -> list[SpecError]:
    """What a definition declares that validation cannot enforce, at the definition's line."""
    out: list[SpecError] = []
    for name in loaded.table.columns:
        why = format_problem(table.c[name])
        if why is not None:
            out.append(SpecError(loaded.locate("columns", name, "format"), why))
        out += [
            SpecError(loaded.locate("columns", name, "default"), f"{table.name}.{name}: {why}")
            for why in _default_problems(table.c[name])
        ]
    return out
