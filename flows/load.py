"""The load subflow: one task per entity (or partition), submitted once its inputs are loaded.

An entity's tasks are submitted when every task of the entities it looks keys up in has
finished, still with ``wait_for=`` those tasks: the UI draws the dependency, and a failed
dependency leaves the entity not run (Prefect marks it ``NotReady``) while the others
complete. Submitting only ready tasks matters with threads: a task submitted early waits for
its inputs inside a pool thread, so with ``threads=1`` everything queued behind it waits too,
and with more threads the waiting tasks hold threads that ready ones could use. (Dask waits
in its scheduler, so there it changes nothing.) The task runner is chosen per call (threads,
or Dask), which is why this is a subflow: a flow cannot switch its own task runner from a
parameter.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from flows import console, tasks
from flows.logs import bridge_core_logging
from flows.plan import plan_for

log = logging.getLogger("flows.load")


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
    partitions: int = 1,
) -> dict[str, dict[str, Any]]:
    """Load the run's entities, each as its planned partitions; per entity its outcome.

    Partitions a resumed run has already finished are not submitted again.
    """
    bridge_core_logging()
    plan = plan_for(Path(mappings), entities=entities)
    marks = tasks.watermarks(workdir, mode, config, run_id)
    names = list(plan.order)
    parts = tasks.plan_partitions(workdir, mappings, run_id, names, mode, partitions, config)
    futures: dict[str, list[PrefectFuture[dict[str, object]]]] = {}
    ended: queue.SimpleQueue[str] = queue.SimpleQueue()  # an entity per task that ended

    def submit(name: str) -> None:
        entity_task = tasks.migrate_entity.with_options(
            tags=[plan.domain_of[name], f"run-{run_id}"],
            retry_delay_seconds=exponential_backoff(backoff) if backoff else 0,
        )
        futures[name] = [
            entity_task.submit(
                workdir,
                mappings,
                run_id,
                name,
                mode,
                chunk_size,
                marks.get(name),
                config,
                _bounds(part),  # also a single one: it is marked done, and a resume skips it
                wait_for=[f for d in plan.needs[name] for f in futures[d]],
                return_state=False,
            )
            for part in parts[name]
            if not part["done"]
        ]
        for future in futures[name]:
            future.add_done_callback(partial(_put, ended, name))

    def finished(name: str) -> None:
        shown = console.current()
        if shown is None:  # a deployment run: nobody watches a terminal
            return
        try:  # ``migrate cutover``: a line per entity on its terminal, never a failed load
            shown.entity_done(name, outcome(futures[name], skipped(name)))
        except Exception as exc:  # noqa: BLE001 - the line is lost, not the run
            log.warning("%s: no terminal line (%s: %s)", name, type(exc).__name__, exc)

    def skipped(name: str) -> int:
        return sum(1 for p in parts[name] if p["done"])

    run_when_ready(plan.needs, submit, ended, lambda name: len(futures[name]), finished)
    return {n: outcome(futures[n], skipped(n)) for n in names}


def run_when_ready(
    needs: dict[str, tuple[str, ...]],
    submit: Callable[[str], None],
    ended: queue.SimpleQueue[str],
    count: Callable[[str], int],
    finished: Callable[[str], None] | None = None,
) -> None:
    """Submit each entity once all it needs has ended (in ``needs`` order), until all are.

    ``submit(name)`` starts the entity's ``count(name)`` tasks, each putting ``name`` on
    ``ended`` when it ends (completed, failed or not run); ``finished(name)`` is told when
    the last of them has.
    """
    waiting, done = list(needs), set[str]()
    left: dict[str, int] = {}
    while waiting:
        for name in [n for n in waiting if set(needs[n]) <= done]:
            waiting.remove(name)
            submit(name)
            left[name] = count(name)
            if not left[name]:  # nothing left to run (a resumed run finished it)
                done.add(name)
                if finished is not None:
                    finished(name)
        if any(set(needs[n]) <= done for n in waiting):
            continue
        while waiting:  # block until an entity ends
            name = ended.get()
            left[name] -= 1
            if not left[name]:
                done.add(name)
                if finished is not None:
                    finished(name)
                break
    while finished is not None and any(n not in done for n in left):  # the last ones
        name = ended.get()
        left[name] -= 1
        if not left[name]:
            done.add(name)
            finished(name)


def _put(ended: queue.SimpleQueue[str], name: str, _future: object) -> None:
    ended.put(name)


def _bounds(part: dict[str, object]) -> dict[str, object]:
    return {k: part[k] for k in ("number", "count", "lo", "hi")}


COUNTS = ("rows_in", "loaded", "rejected", "filtered", "batches")


def outcome(futures: list[PrefectFuture[dict[str, object]]], finished: int = 0) -> dict[str, Any]:
    """An entity's outcome over its partitions: ``completed`` with summed counts when every
    partition completed, ``failed`` with the errors, ``not_run`` (a dependency failed).

    ``partitions`` lists each partition run now; ``partitions_skipped`` counts those a
    resumed run found already done.
    """
    states = []
    for future in futures:
        future.wait()
        states.append(future.state)
    if all(s.is_completed() for s in states):
        results = [f.result() for f in futures]
        total: dict[str, Any] = {"status": "completed"}
        for key in COUNTS:
            total[key] = sum(int(r.get(key, 0)) for r in results)  # type: ignore[call-overload]
        total["seconds"] = max((float(r["seconds"]) for r in results), default=0.0)  # type: ignore[arg-type]
        reasons: dict[str, int] = {}
        for r in results:
            for k, v in dict(r.get("reasons") or {}).items():  # type: ignore[call-overload]
                reasons[k] = reasons.get(k, 0) + int(v)
        total["reasons"] = reasons
        total["partitions"] = results
        total["partitions_skipped"] = finished
        return total
    if all(s.is_completed() or s.name == "NotReady" for s in states):
        return {"status": "not_run", "message": next((s.message for s in states), None)}
    # failed, crashed, cancelled, or never finished: named, with Prefect's state and message
    messages = [_said(s) for s in states if not (s.is_completed() or s.name == "NotReady")]
    return {"status": "failed", "message": "; ".join(dict.fromkeys(messages))}


def _said(state: Any) -> str:
    message = str(state.message or "").strip() or "no message"
    return message if state.is_failed() else f"{state.name}: {message}"
