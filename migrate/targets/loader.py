"""Read target definition files, every problem pointing at ``file:line key.path``.

Reuses the mapping loader's YAML reader (:mod:`migrate.spec.yamlsource`: line of every key,
duplicate keys refused), so a target definition's errors read like a mapping's:
``targets/departments.yaml:7 columns.NAME.lenght: unknown key 'lenght' (did you mean
'length'?)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from migrate.errors import Location, SpecError, SpecErrors
from migrate.spec.steps import suggest
from migrate.spec.yamlsource import SourceText, read_yaml
from migrate.targets.definition import (
    ColumnDef,
    ColumnType,
    IndexDef,
    Layout,
    ObjectDef,
    TableDef,
    table_problems,
)


@dataclass(frozen=True)
class LoadedTable:
    """A table definition and where it was read (``prefix`` locates it in an object file)."""

    table: TableDef
    display: str
    text: SourceText
    prefix: tuple[str | int, ...] = ()

    def locate(self, *path: str | int) -> Location:
        """``file:line`` of a key path inside this table's definition."""
        return self.text.locate((*self.prefix, *path))


def load_definition(path: Path, display: str | None = None) -> list[LoadedTable]:
    """The table(s) one file declares; raise :class:`SpecErrors` listing every problem."""
    try:
        text = read_yaml(path, display or str(path))
    except SpecError as exc:  # invalid YAML, a duplicate key
        raise SpecErrors([exc]) from None
    data = text.data
    if not isinstance(data, dict):
        where = Location(text.file, 1, "")
        raise SpecErrors([SpecError(where, "a target definition is a mapping of keys")])
    is_object = "object" in data or "tables" in data
    model: type[BaseModel] = ObjectDef if is_object else TableDef
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise SpecErrors(_pydantic_errors(exc, text, model)) from None
    if isinstance(parsed, ObjectDef):
        loaded = [
            LoadedTable(t, text.file, text, ("tables", i)) for i, t in enumerate(parsed.tables)
        ]
    else:
        assert isinstance(parsed, TableDef)
        loaded = [LoadedTable(parsed, text.file, text)]
    errors = [SpecError(t.locate(*p), m) for t in loaded for p, m in table_problems(t.table)]
    errors.extend(_duplicates(loaded))
    if errors:
        raise SpecErrors(errors)
    return loaded


def load_targets(folder: Path) -> dict[str, LoadedTable]:
    """Every ``*.yaml`` under a folder, by table name; a table declared twice is an error."""
    if not folder.is_dir():
        raise SpecErrors([SpecError(Location(str(folder), None, ""), "no such folder")])
    out: dict[str, LoadedTable] = {}
    errors: list[SpecError] = []
    paths = sorted([*folder.rglob("*.yaml"), *folder.rglob("*.yml")])
    if not paths:
        errors.append(SpecError(Location(str(folder), None, ""), "no target definition files"))
    for path in paths:
        try:
            tables = load_definition(path, _display(path, folder))
        except SpecErrors as exc:
            errors.extend(exc.errors)
            continue
        for t in tables:
            errors.extend(_duplicates([*out.values(), t]))
            out.setdefault(t.table.table.upper(), t)
    if errors:
        raise SpecErrors(errors)
    return {t.table.table: t for t in out.values()}


def _display(path: Path, folder: Path) -> str:
    try:
        return str(path.relative_to(folder.parent))
    except ValueError:
        return str(path)


def _duplicates(tables: list[LoadedTable]) -> list[SpecError]:
    seen: dict[str, LoadedTable] = {}
    errors: list[SpecError] = []
    for t in tables:
        name = t.table.table.upper()
        if name in seen:
            first = seen[name].locate("table")
            errors.append(
                SpecError(t.locate("table"), f"table {t.table.table} is also declared at {first}")
            )
        seen.setdefault(name, t)
    return errors


def _pydantic_errors(
    exc: ValidationError, text: SourceText, model: type[BaseModel]
) -> list[SpecError]:
    out: list[SpecError] = []
    for err in exc.errors():
        loc = tuple(p for p in err["loc"] if not str(p).startswith(("function-", "literal[")))
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key {loc[-1]!r}{suggest(str(loc[-1]), _siblings(loc, model))}"
        elif err["type"] == "missing":
            msg = f"missing required key {loc[-1]!r}"
        elif err["type"] == "literal_error":
            msg = _literal(err, loc)
        out.append(SpecError(text.locate(loc), msg))
    return out


def _literal(err: Any, loc: tuple[Any, ...]) -> str:
    given = str(err.get("input"))
    known = list(get_args(ColumnType))
    if loc and loc[-1] == "type":
        return f"unknown type {given!r}{suggest(given, known)}; one of {', '.join(known)}"
    return str(err["msg"])


_CHILDREN: dict[str, type[BaseModel]] = {
    "columns": ColumnDef,
    "indexes": IndexDef,
    "layout": Layout,
    "tables": TableDef,
}


def _siblings(loc: tuple[Any, ...], model: type[BaseModel]) -> list[str]:
    """The keys known where an unknown key was written, for "did you mean"."""
    current = model
    parents = list(loc[:-1])
    for part in parents:
        if isinstance(part, str) and part in _CHILDREN and part in current.model_fields:
            current = _CHILDREN[part]
    return list(current.model_fields)
