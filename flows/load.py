"""The load subflow: one task per entity, submitted wave by wave, each waiting for its inputs.

Every entity task is submitted at once with ``wait_for=`` its selected dependencies, so an
entity starts as soon as what it looks up is loaded (not when its whole wave is done), and a
failed entity leaves only its dependents not run (Prefect marks them ``NotReady``); the
others complete. The task runner is chosen per call (threads, or Dask), which is why this is
a subflow: a flow cannot switch its own task runner from a parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows import tasks
from flows.logs import bridge_core_logging
from flows.plan import plan_for


def task_runner(dask: str | None, workers: int = 2, threads: int = 4) -> TaskRunner[Any]:
    """Threads by default; ``"local"`` a local Dask cluster; anything else a scheduler address."""
    if not dask:
        return ThreadPoolTaskRunner(max_workers=threads)
    from prefect_dask.task_runners import DaskTaskRunner

    if dask == "local":
        kwargs = {"n_workers": workers, "processes": True, "threads_per_worker": 1}
        return DaskTaskRunner(cluster_kwargs=kwargs)
    return DaskTaskRunner(address=dask)


@flow(name="load-entities")
def load_entities(
    workdir: str,
    mappings: str,
    run_id: str,
    mode: str,
    entities: list[str],
    chunk_size: int = 50_000,
    config: str | None = None,
    backoff: float = tasks.BACKOFF_SECONDS,
) -> dict[str, dict[str, Any]]:
    """Load the run's entities; returns per entity its status and counts."""
    bridge_core_logging()
    plan = plan_for(Path(mappings), entities=entities)
    marks = tasks.watermarks(workdir, mode, config)
    futures: dict[str, PrefectFuture[dict[str, object]]] = {}
    for wave in plan.waves:
        for name in wave:
            entity_task = tasks.migrate_entity.with_options(
                tags=[plan.domain_of[name], f"run-{run_id}"],
                retry_delay_seconds=exponential_backoff(backoff) if backoff else 0,
            )
            futures[name] = entity_task.submit(
                workdir,
                mappings,
                run_id,
                name,
                mode,
                chunk_size,
                marks.get(name),
                config,
                wait_for=[futures[d] for d in plan.needs[name]],
                return_state=False,
            )
    return {name: outcome(future) for name, future in futures.items()}


def outcome(future: PrefectFuture[dict[str, object]]) -> dict[str, Any]:
    """``completed`` with counts, ``failed`` with the error, ``not_run`` (upstream failed)."""
    future.wait()
    state = future.state
    if state.is_completed():
        return {"status": "completed", **future.result()}
    status = "failed" if state.is_failed() or state.is_crashed() else "not_run"
    return {"status": status, "message": state.message}
