"""Turn the runner's run events into OpenLineage events for the run and each of its entities.

The run hooks know counts and mapping hashes; this module adds what only the mappings know
(inputs, outputs, column lineage), reading the very files whose hashes the run recorded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from openlineage.client.event_v2 import RunEvent, RunState

from migrate.audit.log import scrub
from migrate.config import Settings
from migrate.lineage.openlineage import entity_event, run_event
from migrate.lineage.specs import mappings_root, run_specs

if TYPE_CHECKING:
    from migrate.runs import hooks


def events_for(settings: Settings, event: hooks.RunEvent, state: str) -> list[RunEvent]:
    """START: run then entities; COMPLETE/FAIL: entities then run (parents close last)."""
    run_state = RunState(state)
    results = {str(e.get("entity")): e for e in event.entities}
    staging = (event.staging_url, event.schema)
    out: list[RunEvent] = []
    for rs in run_specs(mappings_root(settings), event.mapping_hashes):
        if rs.loaded is None:
            continue
        spec = rs.loaded.spec
        mapping = (rs.display, rs.recorded_sha256 or rs.loaded.sha256)
        done = results.get(spec.entity)
        if run_state == RunState.START:
            out.append(entity_event(run_state, settings, spec, event.run_id, staging, mapping))
        elif done is not None:
            rows = int(done.get("loaded") or 0)
            out.append(
                entity_event(
                    RunState.COMPLETE, settings, spec, event.run_id, staging, mapping, rows
                )
            )
        else:
            state_now = RunState.FAIL if run_state == RunState.FAIL else RunState.COMPLETE
            out.append(entity_event(state_now, settings, spec, event.run_id, staging, mapping))
    error = scrub(event.error) if event.error else None
    top = run_event(run_state, event.run_id, event.mode, error)
    return [top, *out] if run_state == RunState.START else [*out, top]
