"""A run that stopped unfinished: found before a new cutover starts on top of it.

A cutover killed with SIGKILL (its terminal or session gone), or ended by Ctrl-C, leaves
its run marked ``running``: nothing in a killed process can record that it stopped. The
staging's run lock is free again (the database or the kernel released it with the
process), so that mark alone does not say whether the run is still going. Under the lock it
does: a run marked ``running`` on a staging whose lock this process holds has no process
writing it, so it stopped.

A new cutover on that staging would roll it back unfinished (a rehearsal) or load on top of
its rows (a full or delta run), so :func:`refuse_stopped_run` refuses it in one line naming
the command that finishes it, before a run id is announced or a server started.
"""

from __future__ import annotations

from sqlalchemy import select

from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs.locate import has_staging
from migrate.runs.lock import run_lock
from migrate.staging.tables import build_metadata


def marked_running(url: str, schema: str | None) -> list[tuple[str, str]]:
    """(run id, mode) of the staging's runs marked ``running``, newest first (never
    creating the staging)."""
    if not has_staging(url, schema):
        return []
    md = build_metadata(schema)
    table = md.tables[f"{schema}.MIG_RUNS" if schema else "MIG_RUNS"]
    engine = writable_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(table.c["RUN_ID"], table.c["MODE"])
                .where(table.c["STATUS"] == "running")
                .order_by(table.c["STARTED_AT"].desc())
            ).all()
    finally:
        engine.dispose()
    return [(str(run_id), str(mode)) for run_id, mode in rows]


def refuse_stopped_run(url: str, schema: str | None, run_id: str) -> None:
    """Raise :class:`RunStateError` when a run of this staging stopped unfinished; a run
    still being written holds the lock, and the lock's own refusal names its holder."""
    found = marked_running(url, schema)
    if not found:
        return
    with run_lock(url, schema, run_id):  # held: whatever is marked running has stopped
        found = marked_running(url, schema)  # read again under the lock
    if found:
        stopped, mode = found[0]
        raise RunStateError(
            f"run {stopped} ({mode}) stopped before it finished and nothing runs it now "
            f"(its process is gone); finish it with: migrate cutover --resume {stopped} "
            f"(or roll it back: migrate rollback {stopped})"
        )


NOT_ENDED = ("SCHEDULED", "PENDING", "RUNNING", "PAUSED", "CANCELLING")


def crash_left_flow_runs(run_id: str) -> int:
    """Mark *Crashed* the flow runs a killed cutover of this run left open in Prefect
    (``cutover-<run id>-…`` and their subflows), so the UI does not show them running
    forever beside the resumed one. Called by a resuming cutover under the staging's lock,
    where no other process can be running this run. Best effort: how many were marked."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        FlowRunFilterParentFlowRunId,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    open_ = FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType(s) for s in NOT_ENDED]))
    words = f"the process running run {run_id} ended without a word (killed); resumed"
    marked = 0
    with get_client(sync_client=True) as client:
        left = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(like_=f"cutover-{run_id}-"), state=open_
            )
        )
        parents = [r.id for r in left]
        while parents:  # the load subflows (and theirs)
            children = client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=parents), state=open_
                )
            )
            left += children
            parents = [r.id for r in children]
        for found in left:
            client.set_flow_run_state(found.id, Crashed(message=words), force=True)
            marked += 1
    return marked
