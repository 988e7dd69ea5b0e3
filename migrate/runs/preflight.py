"""Checks before a run's first chunk: what would make every row of an entity fail.

Running one entity on its own (``migrate run --entity ap_invoices``) is normal once its
parents are staged, since the key map persists across runs. Before they are, every row
that looks up a parent key is rejected as ``orphan_reference``: the run is not wrong, but
the user almost certainly meant to run the parents first, so the run says so up front.

Before the first chunk, too, each legacy connection's role is asked what it may do beyond
reading (:func:`legacy_roles`): a warning, or the run refused under ``[safety]
legacy_role = "refuse"`` (issue 22, item 9).
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, select

from migrate.config import Settings
from migrate.legacy_role import RoleCheck, review
from migrate.spec.loader import Project


def legacy_roles(settings: Settings, project: Project) -> list[RoleCheck]:
    """Check the role of every legacy database the run reads (flat files have none); raises
    :class:`migrate.legacy_role.LegacyRoleRefused` under the refuse policy."""
    systems = {project.spec(name).source.system for name in project.order}
    databases = {s for s in systems if s in settings.urls and s != "staging"}
    used = {s for s in databases if any(_reads_database(project, n, s) for n in project.order)}
    return review(settings, used, "the run")


def _reads_database(project: Project, name: str, system: str) -> bool:
    source = project.spec(name).source
    return source.system == system and source.file is None


def unanswered_lookups(project: Project, staging: Engine, md: MetaData) -> list[str]:
    """One message per (entity, domain, system) whose lookups nothing can answer: no entity
    of this run issues the domain's keys for that source system, and the key map holds
    none of them. (Keys are looked up by domain *and* system: procurement's suppliers do
    not answer a finance invoice's supplier number.)"""
    km = md.tables[f"{md.schema}.MIG_KEY_MAP" if md.schema else "MIG_KEY_MAP"]
    in_run = set(project.order)
    out: list[str] = []
    empty: dict[tuple[str, str], bool] = {}
    with staging.connect() as conn:
        for name in project.order:
            for domain, system in sorted(_lookups(project, name)):
                issuers = [
                    e for e in project.issuer_of(domain) if project.spec(e).source.system == system
                ]
                if in_run & set(issuers):
                    continue
                if (domain, system) not in empty:
                    query = (
                        select(km.c["DOMAIN"])
                        .where(km.c["DOMAIN"] == domain, km.c["SOURCE_SYSTEM"] == system)
                        .limit(1)
                    )
                    empty[(domain, system)] = conn.execute(query).first() is None
                if empty[(domain, system)]:
                    first = ", ".join(issuers) or "no entity of the mappings"
                    out.append(
                        f"{name} looks up {domain} keys of {system}, but this run does not "
                        f"stage them and the key map has none yet: its rows will be rejected "
                        f"as orphan_reference (run {first} first, or in the same run)"
                    )
    return out


def _lookups(project: Project, entity: str) -> set[tuple[str, str]]:
    """(domain, source system) of each lookup of the entity, as the resolver asks them."""
    spec = project.spec(entity)
    return {
        (f.lookup.domain, f.lookup.system or spec.source.system)
        for f in spec.fields.values()
        if f.lookup is not None
    }
