"""``--entity`` as dbt users write selectors: ``name``, ``+name`` (it and everything it
depends on, upstream) and ``name+`` (it and everything that depends on it, downstream).

After fixing one mapping, ``--entity suppliers+`` re-runs the suppliers and each entity
whose keys come from them, so no child is left pointing at keys of a rolled-back parent.
"""

from __future__ import annotations

from migrate.errors import ConfigError
from migrate.spec.graph import dependencies
from migrate.spec.loader import Project
from migrate.spec.steps import suggest


def select_entities(project: Project, selectors: list[str]) -> list[str]:
    """The entities the selectors name, in dependency order; an unknown name is an error
    with a suggestion."""
    deps = dependencies(project)
    children: dict[str, set[str]] = {n: set() for n in deps}
    for name, needs in deps.items():
        for need in needs:
            children.setdefault(need, set()).add(name)
    chosen: set[str] = set()
    for selector in selectors:
        name = selector.strip().strip("+")
        if name not in project.entities:
            raise ConfigError(
                f"--entity {selector}: unknown entity {name!r}"
                f"{suggest(name, sorted(project.entities))}"
            )
        chosen.add(name)
        if selector.startswith("+"):
            chosen |= _closure(name, deps)
        if selector.endswith("+"):
            chosen |= _closure(name, children)
    return [n for n in project.order if n in chosen]


def _closure(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen
