"""Prefect tasks: each body is one call into a step, with names, ids and paths as arguments.

Only what ``migrate.load.retry.is_transient`` calls transient is retried (``TransientError``,
lost connections, deadlocks, lock timeouts), with exponential back-off and jitter; a terminal
error fails the task at once. The core already retries each chunk a few times; a task retry
covers what escapes that (and the failures around chunks). A retried entity resumes after
its last committed chunk, so no chunk is loaded twice.
"""

from __future__ import annotations

from typing import Any

from prefect import Task, get_run_logger, task
from prefect.client.schemas.objects import State, TaskRun
from prefect.tasks import exponential_backoff

from flows import signoff, steps, timing
from flows.logs import bridge_core_logging
from migrate.load.retry import is_transient as transient

RETRIES = 3
BACKOFF_SECONDS = 2.0


def is_transient(_task: Task[..., Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry condition: only a transient failure (the core's classification) is retried."""
    error = state.data if isinstance(state.data, BaseException) else None
    if error is None:
        try:
            error = state.result(raise_on_failure=False)
        except Exception:  # the result could not be read: do not retry blindly
            return False
    return isinstance(error, BaseException) and transient(error)


@task(name="start-run", retries=RETRIES, retry_condition_fn=is_transient)
def start_run(
    workdir: str,
    mappings: str,
    mode: str,
    entities: list[str],
    config: str | None = None,
    run_id: str | None = None,
) -> str:
    bridge_core_logging()
    return steps.begin_run(workdir, mappings, mode, entities, config, run_id)


@task(name="clear-rehearsals", retries=RETRIES, retry_condition_fn=is_transient)
def clear_rehearsals(workdir: str, keep: str | None = None, config: str | None = None) -> list[str]:
    bridge_core_logging()
    return steps.clear_rehearsals(workdir, keep, config)


@task(name="timing-snapshot")
def timing_snapshot(workdir: str, run_id: str, mode: str, config: str | None = None) -> str:
    """The run's figures for ``migrate rehearsals``; one that cannot be written is logged,
    it does not fail a cutover whose load is done."""
    try:
        return timing.snapshot(workdir, run_id, mode, config)
    except Exception as exc:  # noqa: BLE001 - the record is missing, the run is not
        get_run_logger().warning("run %s: figures not kept (%s)", run_id, type(exc).__name__)
        return ""


@task(name="watermarks")
def watermarks(
    workdir: str, mode: str, config: str | None = None, run_id: str | None = None
) -> dict[str, int | str]:
    return steps.delta_watermarks(workdir, mode, config, run_id)


@task(name="plan-partitions", retries=RETRIES, retry_condition_fn=is_transient)
def plan_partitions(
    workdir: str,
    mappings: str,
    run_id: str,
    entities: list[str],
    mode: str,
    partitions: int,
    config: str | None = None,
) -> dict[str, list[dict[str, object]]]:
    """Every entity's partitions in one task run (a task per entity cost a project load each)."""
    bridge_core_logging()
    return steps.plan_partitions(workdir, mappings, run_id, entities, mode, partitions, config)


def entity_task_name() -> str:
    """``entity`` for a whole entity, ``entity [2/4]`` for a partition of it (in the UI)."""
    from prefect.runtime import task_run

    params = task_run.parameters
    part = params.get("partition")
    if not part or part.get("count", 1) == 1:
        return str(params["entity"])
    return f"{params['entity']} [{int(part['number']) + 1}/{part['count']}]"


@task(
    name="migrate-entity",
    task_run_name=entity_task_name,
    retries=RETRIES,
    retry_delay_seconds=exponential_backoff(BACKOFF_SECONDS),
    retry_jitter_factor=0.5,
    retry_condition_fn=is_transient,
)
def migrate_entity(
    workdir: str,
    mappings: str,
    run_id: str,
    entity: str,
    mode: str,
    chunk_size: int,
    delta_after: int | str | None = None,
    config: str | None = None,
    partition: dict[str, object] | None = None,
) -> dict[str, object]:
    bridge_core_logging()
    return steps.migrate_entity(
        workdir, mappings, run_id, entity, mode, chunk_size, delta_after, config, partition
    )


@task(name="end-run", retries=RETRIES, retry_condition_fn=is_transient)
def end_run(
    workdir: str,
    mappings: str,
    run_id: str,
    mode: str,
    entities: list[str],
    failed: list[str],
    config: str | None = None,
) -> str:
    bridge_core_logging()
    return steps.end_run(workdir, mappings, run_id, mode, entities, failed, config)


@task(name="reconcile", retries=RETRIES, retry_condition_fn=is_transient)
def reconcile(
    workdir: str,
    mappings: str,
    run_id: str,
    entities: list[str] | None,
    output: str | None = None,
    config: str | None = None,
) -> dict[str, object]:
    bridge_core_logging()
    return steps.reconcile(workdir, mappings, run_id, entities, output, config)


@task(name="record-signoff", retries=RETRIES, retry_condition_fn=is_transient)
def record_signoff(
    workdir: str,
    run_id: str,
    verdict: str,
    approver: str,
    decision: str,
    comment: str,
    config: str | None = None,
    number: int | None = None,
) -> dict[str, object]:
    bridge_core_logging()
    return signoff.record(workdir, run_id, verdict, approver, decision, comment, config, number)
