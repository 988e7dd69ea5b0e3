"""Checks before a run's first chunk: what would make every row of an entity fail.

Running one entity on its own (``migrate run --entity ap_invoices``) is normal once its
parents are staged, since the key map persists across runs. Before they are, every row
that looks up a parent key is rejected as ``orphan_reference``: the run is not wrong, but
the user almost certainly meant to run the parents first, so the run says so up front.
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, select

from migrate.spec.loader import Project


def unanswered_lookups(project: Project, staging: Engine, md: MetaData) -> list[str]:
    """One message per (entity, domain) whose lookups nothing can answer: no entity of this
    run issues the domain's keys and the key map holds none of them."""
    km = md.tables[f"{md.schema}.MIG_KEY_MAP" if md.schema else "MIG_KEY_MAP"]
    in_run = set(project.order)
    out: list[str] = []
    empty: dict[str, bool] = {}
    with staging.connect() as conn:
        for name in project.order:
            for domain in sorted(project.spec(name).lookup_domains()):
                issuers = project.issuer_of(domain)
                if in_run & set(issuers):
                    continue
                if domain not in empty:
                    query = select(km.c["DOMAIN"]).where(km.c["DOMAIN"] == domain).limit(1)
                    empty[domain] = conn.execute(query).first() is None
                if empty[domain]:
                    first = ", ".join(issuers) or "no entity of the mappings"
                    out.append(
                        f"{name} looks up {domain} keys, but this run does not stage them and "
                        f"the key map has none yet: its rows will be rejected as "
                        f"orphan_reference (run {first} first, or in the same run)"
                    )
    return out
