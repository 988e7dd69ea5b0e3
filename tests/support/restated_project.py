"""A one-entity mapping project over a small legacy table, run and reconciled, for the tests of
restated columns (``tests/test_restated*.py``).

The legacy table is created from rows of Python values through SQLAlchemy, so the same
project runs on SQLite, PostgreSQL or MariaDB with the columns' real types (``DATE``,
``TIMESTAMP``); staging is a SQLite file beside it.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Column, MetaData, Table, create_engine, text
from sqlalchemy.types import TypeEngine

from migrate.config import Settings
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from reconcile.report import EntityReconciliation
from reconcile.run import reconcile_run


@dataclass(frozen=True)
class Migrated:
    settings: Settings
    mappings: Path
    run_id: str

    def reconcile(self, entity: str | None = None) -> EntityReconciliation:
        """The reconciliation of the project's only entity (or of ``entity``)."""
        report = reconcile_run(self.settings, load_project(self.mappings), self.run_id)
        if entity is None:
            [only] = report.entities
            return only
        return next(e for e in report.entities if e.entity == entity)

    def tampered(self, tmp: Path, *statements: str) -> Migrated:
        """A copy of the run's staging with SQL applied (the legacy side untouched); a
        server's staging (a database of its own per test) is changed in place."""
        url = self.settings.urls["staging"]
        if not url.startswith("sqlite"):
            engine = create_engine(url)
            with engine.begin() as conn:
                for sql in statements:
                    conn.execute(text(sql))
            engine.dispose()
            return self
        db = tmp / "tampered_staging.db"
        shutil.copy(Path(self.settings.urls["staging"].removeprefix("sqlite:///")), db)
        with sqlite3.connect(db) as conn:
            for sql in statements:
                conn.execute(sql)
        urls = {**self.settings.urls, "staging": f"sqlite:///{db}"}
        return replace(self, settings=replace(self.settings, urls=urls))


def legacy_table(
    url: str,
    name: str,
    columns: Sequence[tuple[str, TypeEngine[Any]]],
    rows: Sequence[Sequence[object]],
) -> None:
    """Create ``name`` with typed columns (the first is the key) and insert ``rows``."""
    md = MetaData()
    table = Table(
        name,
        md,
        *(Column(c, t, primary_key=(i == 0)) for i, (c, t) in enumerate(columns)),
    )
    engine = create_engine(url)
    try:
        md.create_all(engine)
        with engine.begin() as conn:
            conn.execute(
                table.insert(), [dict(zip([c for c, _ in columns], r, strict=True)) for r in rows]
            )
    finally:
        engine.dispose()


def migrate_one(
    folder: Path,
    legacy_url: str,
    mapping: dict[str, Any] | list[dict[str, Any]],
    system: str = "hr",
    staging_url: str | None = None,
) -> Migrated:
    """Write ``mapping`` (or several) as the project's entities, run them into a staging (a
    SQLite file in ``folder`` unless ``staging_url`` is given)."""
    mappings = folder / "mappings"
    for one in mapping if isinstance(mapping, list) else [mapping]:
        (mappings / one["domain"]).mkdir(parents=True, exist_ok=True)
        path = mappings / one["domain"] / f"{one['entity']}.yaml"
        path.write_text(yaml.safe_dump(one, sort_keys=False), encoding="utf-8")
    urls = {system: legacy_url, "staging": staging_url or f"sqlite:///{folder / 'staging.db'}"}
    settings = Settings(urls=urls, workdir=folder)
    summary = run_migration(settings, mappings, "full")
    return Migrated(settings, mappings, summary.run_id)
