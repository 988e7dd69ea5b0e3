"""The tool's own part of every staging target table: lineage columns, key, delta twin.

Whoever builds a target table (the shipped pack or a user's declared definition, both via
:mod:`migrate.targets.build`) adds these here, so every target table carries the same
lineage the same way. A module of its own, importing nothing of :mod:`migrate.targets`,
so staging and targets never import each other in a cycle.

Every target table carries ``MIG_RUN_ID``, ``MIG_BATCH_ID``, ``MIG_ENTITY``,
``MIG_SOURCE_SYSTEM``, ``MIG_SOURCE_KEY`` and ``MIG_SOURCE_HASH`` (invariant 5: every
staged row carries its run id; ``MIG_ENTITY`` says which mapping staged it, so entities
sharing a table and a source system are told apart exactly), and a unique constraint on
its target key so a re-run can never duplicate a row.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, Index, Integer, MetaData, String, Table, UniqueConstraint

LINEAGE_COLUMNS: tuple[str, ...] = (
    "MIG_RUN_ID",
    "MIG_BATCH_ID",
    "MIG_ENTITY",
    "MIG_SOURCE_SYSTEM",
    "MIG_SOURCE_KEY",
    "MIG_SOURCE_HASH",
)
REPLACED_PREFIX = "MIG_REPLACED_"


def lineage_columns() -> list[Column[Any]]:
    """Fresh lineage columns for one table (a Column belongs to one table only)."""
    return [
        Column("MIG_RUN_ID", String(36), nullable=False),  # indexed by target_table
        Column("MIG_BATCH_ID", Integer, nullable=False),
        Column("MIG_ENTITY", String(120), nullable=False),
        Column("MIG_SOURCE_SYSTEM", String(30), nullable=False),
        Column("MIG_SOURCE_KEY", String(200), nullable=False),
        Column("MIG_SOURCE_HASH", String(64), nullable=False),
    ]


def target_table(
    metadata: MetaData, name: str, key: tuple[str, ...], *items: Column[Any] | Index
) -> Table:
    """A staging target table: the given columns and indexes, then the lineage columns and
    the unique constraint on ``key`` (``uq_<table>_key``)."""
    return Table(
        name,
        metadata,
        *items,
        *lineage_columns(),
        # named as ``index=True`` named it; BRIN on PostgreSQL (a B-tree elsewhere): run ids
        # grow with time (issue 21), so each run's rows are one narrow block range
        # new ranges summarized as they fill: an unsummarized range is read by every query
        # by run id until a VACUUM reaches it (issue 21)
        Index(None, "MIG_RUN_ID", postgresql_using="brin", postgresql_with={"autosummarize": "on"}),
        UniqueConstraint(*key, name=f"uq_{name.lower()}_key"),
        info={"target_key": key},
    )


def replaced_name(target: str) -> str:
    """The name of a target table's delta twin."""
    return REPLACED_PREFIX + target


def replaced_table(md: MetaData, target: Table) -> Table:
    """Where a delta run keeps the staged rows it replaces, so rolling it back restores them.

    Same columns as the target (no constraints: several versions of one key may wait here),
    plus the run that replaced them.
    """
    return Table(
        replaced_name(target.name),
        md,
        *[Column(c.name, c.type, nullable=True) for c in target.columns],
        Column("REPLACED_BY_RUN", String(36), nullable=False, index=True),
        Index(f"ix_mig_replaced_{target.name.lower()}_run", "MIG_RUN_ID"),
        info={"replaces": target.name},
    )
