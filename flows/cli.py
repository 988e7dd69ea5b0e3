"""``migrate cutover``: the cutover flow from the command line, on the embedded Prefect server.

With no ``PREFECT_API_URL`` set, Prefect starts a temporary local server for the process
(5 to 10 s). The resolved connection URLs are exported as ``MIGRATE_*_URL`` for the flow's
tasks, which rebuild their settings from the environment (also in Dask workers). With
``signoff="pause"`` the paused run is answered on the terminal: the prompt sends the same
typed input the Prefect UI would.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import resume_flow_run
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from flows.cutover import CutoverFailed, cutover
from migrate.config import CONNECTION_NAMES, Settings


def export_settings(settings: Settings) -> None:
    """Make the flow's tasks resolve the same connections as this command did."""
    for name in CONNECTION_NAMES:
        os.environ[f"MIGRATE_{name.upper()}_URL"] = settings.url(name)
    if settings.staging_schema:
        os.environ["MIGRATE_STAGING_SCHEMA"] = settings.staging_schema


def paused_run_id(flow_run_name: str, timeout: float, stop: threading.Event) -> UUID | None:
    """Wait until the named flow run is paused; its id, or None if it ended or timed out."""
    deadline = time.monotonic() + timeout
    flt = FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name]))
    while time.monotonic() < deadline and not stop.is_set():
        with get_client(sync_client=True) as client:
            found = client.read_flow_runs(flow_run_filter=flt)
        if found and found[0].state and found[0].state.is_paused():
            return found[0].id
        time.sleep(0.5)
    return None


def run_in_thread(name: str, params: dict[str, Any]) -> tuple[threading.Thread, dict[str, Any]]:
    """Start the cutover flow under a known flow-run name; the outcome lands in the dict."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["summary"] = cutover.with_options(flow_run_name=name)(**params)
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=target, name="cutover", daemon=True)
    thread.start()
    return thread, box


def ask_signoff() -> dict[str, str]:
    """The sign-off form on the terminal (the workbook and what approving means are in the
    flow's log line above the prompt)."""
    approver = ""
    while not approver:
        approver = input("approver name: ").strip()
    decision = ""
    while decision not in ("approve", "reject"):
        decision = input("decision [approve/reject]: ").strip().lower()
    comment = input("comment: ").strip()
    return {"approver": approver, "decision": decision, "comment": comment}


def run_cutover_cli(
    settings: Settings,
    mappings: Path,
    mode: str = "rehearsal",
    dask: str | None = None,
    signoff: str = "skip",
    chunk_size: int = 50_000,
    partitions: int = 1,
    resume_run_id: str | None = None,
) -> int:
    """Run the cutover flow; 0 when loaded, reconciled PASS (and approved if asked), 3 when
    reconciled EXCEPTIONS and not signed (finance must accept them), else 1. An EXCEPTIONS
    reconciliation approved (the exceptions accepted) gives 0."""
    export_settings(settings)
    params: dict[str, Any] = {
        "mode": mode,
        "dask": dask,
        "signoff": signoff,
        "chunk_size": chunk_size,
        "partitions": partitions,
        "resume_run_id": resume_run_id,
        "workdir": str(settings.workdir),
        "mappings": str(mappings),
        "signoff_poll": 1,
    }
    name = f"cutover-{uuid.uuid4().hex[:8]}"
    thread, box = run_in_thread(name, params)
    if signoff == "pause":
        _answer_pause(name, thread)
    thread.join()
    return _report(box)


def _answer_pause(name: str, thread: threading.Thread) -> None:
    stop = threading.Event()

    def watch() -> None:
        thread.join()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    run_id = paused_run_id(name, timeout=7 * 24 * 3600, stop=stop)
    if run_id is not None:
        print(f"\ncutover paused for sign-off (flow run {run_id})")
        resume_flow_run(run_id, run_input=ask_signoff())


def _report(box: dict[str, Any]) -> int:
    error = box.get("error")
    if isinstance(error, CutoverFailed):
        print(f"cutover failed: {error}")
        return 1
    if error is not None:
        raise error
    summary: dict[str, Any] = box["summary"]
    rec = summary.get("reconciliation") or {}
    verdict, sign = rec.get("verdict"), summary.get("signoff")
    which = f" (reconciliation {rec['number']})" if rec.get("number") else ""
    print(f"run {summary['run_id']} ({summary['mode']}): reconciliation {verdict}{which}", end="")
    print(f", sign-off {sign['outcome']} by {sign['approver']}" if sign else "")
    if sign is not None:
        return 0 if sign["approved"] else 1
    return {"PASS": 0, "EXCEPTIONS": 3}.get(str(verdict), 1)
