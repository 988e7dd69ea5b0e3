"""Entity order derived from references: an entity runs after those whose keys it looks up."""

from __future__ import annotations

from typing import TYPE_CHECKING

from migrate.errors import Location, SpecError, SpecErrors

if TYPE_CHECKING:
    from migrate.spec.loader import Project


def dependencies(project: Project) -> dict[str, set[str]]:
    """For each entity, the entities that must be loaded before it."""
    deps: dict[str, set[str]] = {}
    for name, ent in project.entities.items():
        needs: set[str] = set(ent.spec.depends_on)
        for domain in ent.spec.lookup_domains():
            needs.update(i for i in project.issuer_of(domain) if i != name)
        deps[name] = needs
    # Several issuers of one domain (suppliers merged from two systems) run in file order.
    for domain in {
        e.spec.issues_keys.domain for e in project.entities.values() if e.spec.issues_keys
    }:
        issuers = sorted(project.issuer_of(domain))
        for earlier, later in zip(issuers, issuers[1:], strict=False):
            deps[later].add(earlier)
    return deps


def dependency_order(project: Project) -> list[str]:
    """A stable topological order; a cycle is an error naming every entity on it."""
    deps = dependencies(project)
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            cycle = [*stack[stack.index(node) :], node]
            ent = project.entities[node]
            raise SpecErrors(
                [
                    SpecError(
                        Location(ent.display, ent.text.locate(("fields",)).line, ""),
                        "dependency cycle: " + " -> ".join(cycle),
                    )
                ]
            )
        state[node] = 1
        stack.append(node)
        for dep in sorted(deps[node]):
            visit(dep)
        stack.pop()
        state[node] = 2
        order.append(node)

    for name in sorted(project.entities):
        visit(name)
    return order


def levels(project: Project) -> list[list[str]]:
    """Entities grouped into waves that can run in parallel (for the cutover flow)."""
    deps = dependencies(project)
    done: set[str] = set()
    waves: list[list[str]] = []
    remaining = list(project.order)
    selected = set(project.order)  # dependencies outside a selection are not waited for
    while remaining:
        wave = [n for n in remaining if deps[n] & selected <= done]
        waves.append(wave)
        done.update(wave)
        remaining = [n for n in remaining if n not in done]
    return waves
