"""The cutover flow: start (or resume) a run, load it, reconcile it, pause for sign-off.

    [clear-rehearsals] -> start-run -> load-entities (subflow: threads or Dask) -> end-run
    -> timing-snapshot -> reconcile -> pause for SignOff -> record-signoff -> summary

The reconcile step keeps its reconciliation as the run's next numbered one; the sign-off
names that number, so a later reconcile of the run cannot change what was signed.

A failed entity stops only its dependents; the run is then closed ``failed`` and the flow
fails with the list, without reconciling. Run the flow again with ``resume_run_id`` to
finish that run: every entity task resumes after its last committed chunk, so finished
entities and chunks are not redone. A rehearsal first rolls back earlier rehearsals (their
timings are kept in ``artifacts/timing``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger, pause_flow_run

from flows import console, steps, tasks
from flows.load import load_entities, task_runner
from flows.logs import bridge_core_logging
from flows.plan import plan_for
from flows.signoff import SignOff, prompt
from flows.stopped import refuse_stopped_run
from migrate.errors import TerminalError
from migrate.runs import records as runs
from migrate.runs import runner
from migrate.runs.lock import run_lock

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
DAY = 24 * 3600


class CutoverFailed(TerminalError):
    """Some entities failed (or could not run because a dependency failed)."""


@flow(name="cutover")
def cutover(
    mode: Literal["rehearsal", "full", "delta"] = "rehearsal",
    domains: list[str] | None = None,
    entities: list[str] | None = None,
    chunk_size: int = 50_000,
    partitions: int = 1,
    dask: str | None = None,
    dask_workers: int = 2,
    threads: int = 4,
    signoff: Literal["pause", "skip"] = "pause",
    reconcile: bool = True,
    signoff_timeout: int = DAY,
    signoff_poll: int = 10,
    resume_run_id: str | None = None,
    workdir: str = ".",
    mappings: str = str(MAPPINGS),
    config: str | None = None,
    backoff: float = tasks.BACKOFF_SECONDS,
    run_id: str | None = None,
) -> dict[str, Any]:
    """Run a cutover (or a rehearsal of it) end to end; returns the run's summary.

    ``run_id`` names the new run (``migrate cutover`` prints it before anything starts);
    the flow holds the staging's run lock, as ``migrate run`` does, from before the run's
    row is written to the end. A new run is refused while a run of its staging is marked
    running with nobody writing it (killed): it is resumed or rolled back first."""
    bridge_core_logging()
    workdir = str(Path(workdir).resolve())
    run_id = resume_run_id or run_id or runs.new_run_id()  # sorts by start (issue 21)
    if resume_run_id:
        mode = steps.run_info(workdir, resume_run_id, config).mode  # type: ignore[assignment]
    url, schema = runner.staging_target(steps.settings_for(workdir, config), mode)
    with run_lock(url, schema, run_id):  # refused here, nothing of the run is written
        if not resume_run_id:  # a killed run of this staging: finished first, never overrun
            refuse_stopped_run(url, schema, run_id)
        return _cutover(
            mode, domains, entities, chunk_size, partitions, dask, dask_workers, threads,
            signoff, reconcile, signoff_timeout, signoff_poll, resume_run_id, workdir,
            mappings, config, backoff, run_id,
        )  # fmt: skip


def _cutover(
    mode: str,
    domains: list[str] | None,
    entities: list[str] | None,
    chunk_size: int,
    partitions: int,
    dask: str | None,
    dask_workers: int,
    threads: int,
    signoff: str,
    reconcile: bool,
    signoff_timeout: int,
    signoff_poll: int,
    resume_run_id: str | None,
    workdir: str,
    mappings: str,
    config: str | None,
    backoff: float,
    run_id: str,
) -> dict[str, Any]:
    log = get_run_logger()
    selected = domains is not None or entities is not None
    names = list(plan_for(Path(mappings), domains, entities).order)
    if resume_run_id:
        mode = steps.reopen_run(workdir, resume_run_id, config)
    else:
        if mode == "rehearsal":
            tasks.clear_rehearsals(workdir, None, config)
        run_id = tasks.start_run(workdir, mappings, mode, names, config, run_id)
    log.info("run %s (%s): %d entities", run_id, mode, len(names))
    loader = load_entities.with_options(task_runner=task_runner(dask, dask_workers, threads))
    loaded = loader(workdir, mappings, run_id, mode, names, chunk_size, config, backoff, partitions)
    failed = sorted(n for n, o in loaded.items() if o["status"] != "completed")
    status = tasks.end_run(workdir, mappings, run_id, mode, names, failed, config)
    tasks.timing_snapshot(workdir, run_id, mode, config)
    summary: dict[str, Any] = {"run_id": run_id, "mode": mode, "status": status}
    summary["entities"] = loaded
    if failed:
        raise CutoverFailed(f"run {run_id}: {_failures(loaded)}; resume_run_id={run_id}")
    summary["reconciliation"] = summary["signoff"] = None
    if not reconcile:  # load-timing rehearsals only: nothing to sign without a reconciliation
        return summary
    report = tasks.reconcile(workdir, mappings, run_id, names if selected else None, None, config)
    summary["reconciliation"] = report
    if signoff == "pause":
        summary["signoff"] = _sign_off(
            workdir, run_id, report, signoff_timeout, signoff_poll, config
        )
    log.info("run %s: %s", run_id, _headline(summary))
    return summary


def _sign_off(
    workdir: str,
    run_id: str,
    report: dict[str, Any],
    timeout: int,
    poll: int,
    config: str | None,
) -> dict[str, object]:
    """Pause for the approver's decision on the reconciliation just made (by its number)."""
    verdict, number = str(report["verdict"]), int(report["number"])
    text = prompt(run_id, verdict, str(report["workbook"]), number, str(report["sha256"]))
    if console.current() is not None:  # ``migrate cutover`` asks on its terminal: say what
        print(f"\n{text.replace('**', '').replace('`', '')}", flush=True)
    form = SignOff.with_initial_data(description=text, comment="")
    answer = pause_flow_run(wait_for_input=form, timeout=timeout, poll_interval=poll)
    return tasks.record_signoff(
        workdir, run_id, verdict, answer.approver, answer.decision, answer.comment, config, number
    )


def _failures(loaded: dict[str, dict[str, Any]]) -> str:
    """The failed entities by name with their errors, then those left not run."""
    failed = [f"{n} ({o['message']})" for n, o in loaded.items() if o["status"] == "failed"]
    waiting = [n for n, o in loaded.items() if o["status"] == "not_run"]
    said = f"failed: {', '.join(failed) or 'none named (the flow run in Prefect says why)'}"
    return said + (f"; not run (a dependency failed): {', '.join(waiting)}" if waiting else "")


def _headline(summary: dict[str, Any]) -> str:
    rec = summary.get("reconciliation") or {}
    sign = summary.get("signoff") or {}
    return f"reconciliation {rec.get('verdict')}, sign-off {sign.get('outcome', 'skipped')}"
