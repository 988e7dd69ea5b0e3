"""Reconciliation's own reading of a condition (``when``, ``drop_when``) and of the pieces
of a composed value (a field's ``parts``, a grain's nested ``source``), on one legacy row.

Kept apart from ``restate.py`` (which says which rules are restated, and how a column's
value is compared) so that filters (``filtered.py``) and grains (``grains.py``) read a row
by the same statement as the restated columns do, never by the pipeline's code.
"""

from __future__ import annotations

from collections.abc import Mapping

from migrate.spec.conditions import Condition
from migrate.spec.parts import Part, as_part
from reconcile.proving import restate_steps as R
from reconcile.reading import numbers as N


def piece(part: Part, ctx: R.Context) -> str:
    """One piece of ``parts`` (or of a grain's nested source) as text, none as empty: the
    constant, or the column's trimmed text through the piece's own steps."""
    if part.column is None:
        return str(part.const)
    text = R.as_text(ctx.record.get(part.column))
    value: object = None if text is None else text.strip()
    for step in part.steps:
        value = R.STEPS[step.name](value, step.args, ctx)
    return R.as_text(value) or ""


def part_text(item: str | Part) -> str:
    part = as_part(item)
    if part.column is None:
        return repr(str(part.const))
    steps = ", ".join(step_text(s.name, s.args.model_dump()) for s in part.steps)
    return f"{part.column} ({steps})" if steps else part.column


def step_text(name: str, args: dict[str, object]) -> str:
    given = ", ".join(f"{k} {v!r}" for k, v in args.items() if v is not None)
    return f"{name} ({given})" if given else name


def condition_holds(w: Condition, record: Mapping[str, object]) -> bool:
    """A ``when`` or ``drop_when`` on one legacy row, as the pipeline tests it (trimmed, in
    any case; ``negate`` reverses it, so a missing value then holds). A comparison on a value
    that is no number raises :class:`~reconcile.proving.restate_steps.Unreadable`: the pipeline
    rejects that row (``invalid_number``), whatever ``negate`` says."""
    value = record.get(w.column)
    if w.ordered:
        try:
            return N.compares(w, value) != w.negate
        except N.NotNumber as exc:
            raise R.Unreadable(exc.reason, value) from None
    return R.holds(value, w.equals, w.in_, w.is_blank) != w.negate


def condition_text(w: Condition) -> str:
    if w.dated:
        read = f"date({w.column}, {w.date_format or '%Y-%m-%d'!r})"
        test = " and ".join(f"{read} {op} {day.isoformat()}" for op, day in w.date_bounds())
    elif w.numeric:
        read = f"amount({w.column}, {w.amount})" if w.amount else w.column
        test = " and ".join(f"{read} {op} {bound}" for op, bound in w.bounds())
    elif w.is_blank is not None:
        test = f"{w.column} is {'' if w.is_blank else 'not '}blank"
    elif w.in_ is not None:
        test = f"{w.column} in {w.in_!r}"
    else:
        test = f"{w.column} = {w.equals!r}"
    return f"not ({test})" if w.negate else test
