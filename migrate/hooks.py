"""Run events for lineage and the audit trail, called by the runner at fixed points.

The runner calls these at run start, completion, failure and rollback; lineage emission
(OpenLineage events) and the hash-chained audit log plug in here, so neither the pipeline
nor the runner needs to know how they are written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrate.config import Settings


@dataclass(frozen=True)
class RunEvent:
    """What happened to a run; ``entities`` holds per-entity counts and reasons when known."""

    run_id: str
    mode: str
    staging_url: str
    schema: str | None
    mapping_hashes: dict[str, str] = field(default_factory=dict)
    entities: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def on_run_started(settings: Settings, event: RunEvent) -> None:
    """A run began (after MIG_RUNS has its row)."""


def on_run_completed(settings: Settings, event: RunEvent) -> None:
    """Every entity finished; ``event.entities`` has counts and rejects by reason."""


def on_run_failed(settings: Settings, event: RunEvent) -> None:
    """The run stopped with an error (``event.error`` has its message, without secrets)."""


def on_rollback(settings: Settings, event: RunEvent, removed: dict[str, int]) -> None:
    """A run's staged rows were removed."""
