"""A target definition written back as YAML that :mod:`migrate.targets.loader` reads.

One line per column (in declared order) so a file of 160 columns stays reviewable. A table
file (:func:`to_yaml`) or an object file holding several tables (:func:`object_to_yaml`,
as the generated pack writes them).
"""

from __future__ import annotations

from typing import Any

import yaml

from migrate.targets.definition import ObjectDef, TableDef


def to_yaml(table: TableDef, origin: str) -> str:
    """A definition as YAML: one line per column, in import-file order."""
    out = [f"# A target definition (docs/reference/targets.md), {origin}.", *table_lines(table)]
    return "\n".join(out) + "\n"


def object_to_yaml(obj: ObjectDef, header: list[str]) -> str:
    """An object file: ``header`` (comment lines, ``#`` added), the object, its tables."""
    head: dict[str, Any] = {"object": obj.object}
    if obj.description:
        head["description"] = obj.description
    out = [f"# {line}".rstrip() for line in header]
    out += [_dump(head), "tables:"]
    for table in obj.tables:
        lines = "\n".join(table_lines(table)).split("\n")
        out += [f"  - {lines[0]}", *(f"    {line}" for line in lines[1:])]
    return "\n".join(out) + "\n"


def table_lines(table: TableDef) -> list[str]:
    """The YAML lines of one table's definition (no comment header)."""
    head: dict[str, Any] = {"table": table.table}
    if table.description:
        head["description"] = table.description
    out = [_dump(head), f"key: {_flow(table.key)}"]
    if not table.key:
        out[-1] += "  # the layout names no key: list the columns that identify a row"
    out.append("columns:")
    for name, col in table.columns.items():
        data = col.model_dump(exclude_defaults=True)
        data.setdefault("type", col.type)
        ordered = {"type": data.pop("type"), **data}
        out.append(f"  {name}: {_flow(ordered)}")
    if table.indexes:
        out.append("indexes:")
        out.extend(f"  - {_flow(i.model_dump(exclude_defaults=True))}" for i in table.indexes)
    if table.layout:
        out.append(_dump({"layout": table.layout.model_dump()}))
    return out


def _dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True).rstrip()


def _flow(data: Any) -> str:
    text = yaml.safe_dump(data, default_flow_style=True, sort_keys=False, width=10_000)
    return text.strip()
