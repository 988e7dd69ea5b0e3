"""Which entities a flow runs, and in which waves: derived from the mappings, never listed.

``migrate.spec.graph.levels`` waits forever when a selected entity depends on one outside
the selection (its dependency is never "done"), so the waves here are computed on the
dependency graph restricted to the selection: dependencies outside it are taken as already
staged (their keys are in the key map from an earlier run).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from migrate.errors import ConfigError
from migrate.spec.graph import dependencies
from migrate.spec.loader import DOMAINS, Project
from migrate.spec.loader import load_project as _load_project

_LOADING = threading.Lock()


def load_project(mappings: Path, entities: list[str] | None = None) -> Project:
    """The mappings, read by one thread at a time: entity tasks run side by side in
    threads, and the YAML reader's scalar constructor is shared by every call
    (``migrate/spec/yamlsource.py``: a second thread clearing its memo made the first fail
    with ``KeyError: ScalarNode(...)``, 1 cutover in 8 on the soak)."""
    with _LOADING:
        return _load_project(mappings, entities)


@dataclass(frozen=True)
class Plan:
    """The selected entities in dependency order, their waves, and what each waits for."""

    order: tuple[str, ...]
    waves: tuple[tuple[str, ...], ...]
    needs: dict[str, tuple[str, ...]]
    domain_of: dict[str, str]


def select(project: Project, domains: list[str] | None, entities: list[str] | None) -> list[str]:
    """Entity names (dependency order) for a domain and/or entity selection; all by default."""
    unknown = sorted(set(domains or ()) - set(DOMAINS))
    if unknown:
        raise ConfigError(f"unknown domain(s) {unknown} (one of {', '.join(DOMAINS)})")
    missing = sorted(set(entities or ()) - set(project.entities))
    if missing:
        raise ConfigError(f"unknown entit(y/ies) {missing}")
    names = list(project.order)
    if domains:
        names = [n for n in names if project.spec(n).domain in domains]
    if entities:
        names = [n for n in names if n in entities]
    return names


def make_plan(project: Project, names: list[str]) -> Plan:
    """Waves of the selection: an entity runs once every selected dependency has finished."""
    deps = dependencies(project)
    chosen = set(names)
    needs = {n: tuple(sorted(deps[n] & chosen)) for n in names}
    waves: list[tuple[str, ...]] = []
    done: set[str] = set()
    remaining = [n for n in project.order if n in chosen]
    while remaining:
        wave = tuple(n for n in remaining if set(needs[n]) <= done)
        waves.append(wave)  # never empty: the loader already rejected cycles
        done.update(wave)
        remaining = [n for n in remaining if n not in done]
    domain_of = {n: str(project.spec(n).domain) for n in names}
    return Plan(tuple(n for w in waves for n in w), tuple(waves), needs, domain_of)


def plan_for(
    mappings: Path, domains: list[str] | None = None, entities: list[str] | None = None
) -> Plan:
    project = load_project(mappings)
    return make_plan(project, select(project, domains, entities))
