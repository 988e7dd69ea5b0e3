"""What a check names, checked before any run: entities and target columns.

A check that warns names target columns (``flag.when.column``, ``possible_duplicate.columns``)
and a rule across entities names another entity and its columns; a name that does not exist
is reported at its ``file:line`` with "did you mean", as a field's unknown crosswalk is,
rather than stopping the run at its first chunk (a warning) or leaving the rule "not
verified" at reconciliation. Called by the loader's cross-file checks.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from migrate.errors import SpecError
from migrate.spec.checks import Check
from migrate.spec.steps import suggest
from migrate.staging.catalog import staging_table

if TYPE_CHECKING:
    from migrate.spec.loader import LoadedEntity, Project

Path_ = tuple[str | int, ...]


def check_references(project: Project) -> list[SpecError]:
    errors: list[SpecError] = []
    for ent in project.entities.values():
        for index, check in enumerate(ent.spec.checks):
            for path, kind, name, entity in _names(check, ent.spec.entity):
                errors += _check_one(project, ent, ("checks", index, *path), kind, name, entity)
    return errors


def _names(check: Check, me: str) -> Iterator[tuple[Path_, str, str, str]]:
    """(path under the check, 'entity' or 'column', the name, whose column it is)."""
    if check.flag is not None:
        yield ("flag", "when", "column"), "column", check.flag.when.column, me
    if check.possible_duplicate is not None:
        for i, c in enumerate(check.possible_duplicate.columns):
            yield ("possible_duplicate", "columns", i), "column", c, me
    if (h := check.header_total) is not None:
        yield ("header_total", "lines"), "entity", h.lines, me
        for i, c in enumerate(h.key):
            yield ("header_total", "key", i), "column", c, me
        yield ("header_total", "header_amount"), "column", h.header_amount, me
        for i, c in enumerate(h.lines_key):
            yield ("header_total", "lines_key", i), "column", c, h.lines
        yield ("header_total", "line_amount"), "column", h.line_amount, h.lines
    if (t := check.totals_agree) is not None:
        yield ("totals_agree", "other"), "entity", t.other, me
        yield ("totals_agree", "amount"), "column", t.amount, me
        for i, c in enumerate(t.by):
            yield ("totals_agree", "by", i), "column", c, me
        for i, c in enumerate(t.other_by):
            yield ("totals_agree", "other_by", i), "column", c, t.other
        yield ("totals_agree", "other_amount"), "column", t.other_amount, t.other
    if (b := check.balanced_across) is not None:
        for i, e in enumerate(b.entities):
            yield ("balanced_across", "entities", i), "entity", e, me


def _check_one(
    project: Project, ent: LoadedEntity, path: Path_, kind: str, name: str, entity: str
) -> list[SpecError]:
    known = list(project.entities)
    if kind == "entity":
        if name in project.entities:
            return []
        return [SpecError(ent.text.locate(path), f"unknown entity {name!r}{suggest(name, known)}")]
    if entity not in project.entities:
        return []  # reported as an unknown entity already
    table = staging_table(project.spec(entity).target.table)
    if table is None or name in table.c:
        return []  # a table staging does not declare: the target checks say so
    columns = [c.name for c in table.c]
    return [
        SpecError(
            ent.text.locate(path),
            f"{table.name} has no column {name!r}{suggest(name, columns)}",
        )
    ]
