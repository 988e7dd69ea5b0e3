"""Run events for lineage and the audit trail, called by the runner at fixed points.

The runner calls these at run start, completion, failure and rollback; lineage emission
(OpenLineage events) and the hash-chained audit log plug in here, so neither the pipeline
nor the runner needs to know how they are written. Everything written here is secret-free:
URLs are redacted, error text is scrubbed, and only counts (never row values) are logged.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from migrate.config import Settings, redact

COUNT_KEYS = ("rows_in", "loaded", "rejected", "filtered")


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
    from migrate.audit import log as audit

    sources = {name: redact(url) for name, url in sorted(settings.urls.items())}
    audit.append(
        settings,
        "run_started",
        {
            "run_id": event.run_id,
            "mode": event.mode,
            "staging": redact(event.staging_url),
            "schema": event.schema,
            "connections": sources,
        },
    )
    audit.append(
        settings,
        "mapping_versions",
        {"run_id": event.run_id, "mappings": dict(sorted(event.mapping_hashes.items()))},
    )
    _emit(settings, event, "START")


def on_run_completed(settings: Settings, event: RunEvent) -> None:
    """Every entity finished; ``event.entities`` has counts and rejects by reason."""
    _record_outcome(settings, event, "complete")
    _emit(settings, event, "COMPLETE")


def on_run_failed(settings: Settings, event: RunEvent) -> None:
    """The run stopped with an error (``event.error`` has its message, without secrets)."""
    _record_outcome(settings, event, "failed")
    _emit(settings, event, "FAIL")


def on_rollback(settings: Settings, event: RunEvent, removed: dict[str, int]) -> None:
    """A run's staged rows were removed."""
    from migrate.audit import log as audit

    audit.append(
        settings,
        "rollback",
        {
            "run_id": event.run_id,
            "mode": event.mode,
            "staging": redact(event.staging_url),
            "removed": dict(sorted(removed.items())),
            "total_removed": sum(removed.values()),
        },
    )


def _record_outcome(settings: Settings, event: RunEvent, status: str) -> None:
    from migrate.audit import log as audit

    counts = {
        str(e.get("entity")): {k: int(e.get(k) or 0) for k in COUNT_KEYS} for e in event.entities
    }
    totals = {k: sum(c[k] for c in counts.values()) for k in COUNT_KEYS}
    payload: dict[str, Any] = {
        "run_id": event.run_id,
        "status": status,
        "entities": counts,
        "totals": totals,
    }
    if event.error is not None:
        payload["error"] = audit.scrub(event.error)
    audit.append(settings, "counts", payload)
    reasons = {
        str(e.get("entity")): dict(sorted((e.get("reasons") or {}).items())) for e in event.entities
    }
    audit.append(settings, "rejects_by_reason", {"run_id": event.run_id, "entities": reasons})


def _emit(settings: Settings, event: RunEvent, state: str) -> None:
    from migrate.lineage.openlineage import emit
    from migrate.lineage.run_events import events_for

    emit(settings, events_for(settings, event, state))
