"""``migrate cutover``: the cutover flow from the command line, on one Prefect server.

The run id is printed first (a crash still leaves it on the screen), then the staging's run
lock is taken (as ``migrate run`` does: a second writer is refused before anything starts),
then one Prefect server is started for the whole command (:mod:`flows.server`; none when
``PREFECT_API_URL`` names one) and stopped when it ends, however it ends. The resolved
connection URLs are exported as ``MIGRATE_*_URL`` for the flow's tasks, which rebuild their
settings from the environment (also in Dask workers). With ``signoff="pause"`` the paused
run is answered on the terminal: the prompt sends the same typed input the Prefect UI would.

Ctrl-C (:func:`_stop`): entity tasks stop after the chunk they are writing, a step that
records something whole finishes first, the flow run is marked cancelled, the server and
any Dask worker are stopped, and the command ends with ``interrupted; run <id> stopped;
finish it with: migrate cutover --resume <id>`` and exit 130. Committed chunks stay; the
resumed run goes on after them.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import resume_flow_run
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName

from flows import console
from flows.cutover import CutoverFailed, cutover
from flows.server import cutover_server, stop_started_server
from flows.stopped import crash_left_flow_runs, refuse_stopped_run
from migrate.config import CONNECTION_NAMES, Settings
from migrate.errors import TerminalError
from migrate.runs import records as runs
from migrate.runs.lock import run_lock

GRACE_SECONDS = 15.0  # after Ctrl-C, how long the flow may take to stop by itself
INTERRUPTED = 130


def export_settings(settings: Settings) -> None:
    """Make the flow's tasks resolve the same connections as this command did."""
    for name in CONNECTION_NAMES:
        os.environ[f"MIGRATE_{name.upper()}_URL"] = settings.url(name)
    if settings.staging_schema:
        os.environ["MIGRATE_STAGING_SCHEMA"] = settings.staging_schema


def flow_run_of(flow_run_name: str) -> Any:
    """The flow run of that name, or None (not created yet)."""
    flt = FlowRunFilter(name=FlowRunFilterName(any_=[flow_run_name]))
    with get_client(sync_client=True) as client:
        found = client.read_flow_runs(flow_run_filter=flt)
    return found[0] if found else None


def paused_run_id(flow_run_name: str, timeout: float, stop: threading.Event) -> UUID | None:
    """Wait until the named flow run is paused; its id, or None if it ended or timed out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not stop.is_set():
        found = flow_run_of(flow_run_name)
        if found is not None and found.state and found.state.is_paused():
            return UUID(str(found.id))
        stop.wait(0.5)
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


class NoAnswer(TerminalError):
    """Nobody can answer the sign-off prompt (stdin closed)."""


def ask_signoff() -> dict[str, str]:
    """The sign-off form on the terminal (the workbook and what approving means are in the
    flow's log line above the prompt)."""
    try:
        approver = ""
        while not approver:
            approver = input("approver name: ").strip()
        decision = ""
        while decision not in ("approve", "reject"):
            decision = input("decision [approve/reject]: ").strip().lower()
        comment = input("comment: ").strip()
    except EOFError:
        raise NoAnswer("no answer to the sign-off prompt (stdin closed)") from None
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
    quiet: bool = False,
    debug: bool = False,
) -> int:
    """Run the cutover flow; 0 when loaded, reconciled PASS (and approved if asked), 3 when
    reconciled EXCEPTIONS and not signed (finance must accept them), else 1. An EXCEPTIONS
    reconciliation approved (the exceptions accepted) gives 0. Ctrl-C: 130."""
    run_id = resume_run_id or runs.new_run_id()  # sorts by start (issue 21)
    if resume_run_id:  # an unknown id is refused before anything is said to start
        url, schema, mode = _staging(settings, mode, resume_run_id)
    else:  # a run killed or stopped unfinished on this staging: finish it first
        refuse_stopped_run(*_staging(settings, mode, None)[:2], run_id)
    if not quiet:  # first, so a crash still leaves the id to resume
        doing = "resuming" if resume_run_id else "starting"
        print(f"run {run_id} ({mode}) {doing}; if it stops: migrate cutover --resume {run_id}")
        sys.stdout.flush()
    export_settings(settings)
    if not resume_run_id:
        url, schema, mode = _staging(settings, mode, None)
    shown = console.Console(progress=None if quiet else _progress(settings, mappings))
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
        "run_id": run_id,
    }
    name = f"cutover-{run_id}-{uuid.uuid4().hex[:4]}"
    with _terminal_logs(debug), run_lock(url, schema, run_id):  # refused: nothing started
        console.install(shown)
        try:
            with _noted(settings, run_id), cutover_server(settings.workdir):
                if resume_run_id:  # under the lock: an open flow run of it was killed
                    with contextlib.suppress(Exception):  # the UI's record, not the run
                        crash_left_flow_runs(resume_run_id)
                thread, box = run_in_thread(name, params)
                try:
                    if signoff == "pause":
                        _answer_pause(name, thread)
                    while thread.is_alive():
                        thread.join(0.5)
                except KeyboardInterrupt as stop:
                    _stop(settings, shown, name, thread, run_id, INTERRUPTED, stop)
                except NoAnswer as exc:
                    _stop(settings, shown, name, thread, run_id, 2, exc)
        finally:
            console.install(None)
    return _report(box, quiet)


@contextlib.contextmanager
def _noted(settings: Settings, run_id: str) -> Iterator[None]:
    """A Ctrl-C before the flow started (while the server starts) names the run too."""
    try:
        yield
    except KeyboardInterrupt as stop:
        stop.add_note(_stopped(settings, run_id))
        raise


def _staging(
    settings: Settings, mode: str, resume_run_id: str | None
) -> tuple[str, str | None, str]:
    """Where the run writes (the lock's place), and its mode (a resumed run's own)."""
    from migrate.runs.locate import locate_run
    from migrate.runs.runner import staging_target

    if resume_run_id:
        found = locate_run(settings, resume_run_id)
        return found.url, found.schema, found.info.mode
    return (*staging_target(settings, mode), mode)


def _progress(settings: Settings, mappings: Path) -> Any:
    from migrate.progress import TerminalProgress
    from migrate.runs.runner import count_source_rows
    from migrate.spec.loader import load_project

    return TerminalProgress(totals=count_source_rows(settings, load_project(mappings)))


class _Quiet(logging.Filter):
    """Warnings and errors only; once the command is stopping, none of Prefect's."""

    everything = False

    def filter(self, record: logging.LogRecord) -> bool:
        if self.everything and record.name.startswith(("prefect", "Global")):
            return False
        return record.levelno >= logging.WARNING


_QUIET = _Quiet()


@contextlib.contextmanager
def _terminal_logs(debug: bool) -> Iterator[None]:
    """Prefect's and the core's INFO lines go to the flow run (the UI), not the terminal,
    where the progress lines are; warnings and errors still show. ``--debug`` keeps all."""

    if debug:
        yield
        return
    # Dask workers configure Prefect's logging themselves: its console handler there says
    # warnings only (Prefect's PREFECT_LOGGING_[PATH]_[KEY] override of its logging.yml)
    os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")
    drop = _QUIET
    handlers = [h for name in ("", "prefect") for h in logging.getLogger(name).handlers]
    for handler in handlers:
        handler.addFilter(drop)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(drop)


def _answer_pause(name: str, thread: threading.Thread) -> None:
    stop = threading.Event()

    def watch() -> None:
        thread.join()
        stop.set()

    threading.Thread(target=watch, daemon=True).start()
    run_id = paused_run_id(name, timeout=7 * 24 * 3600, stop=stop)
    if run_id is not None:
        print(f"\ncutover paused for sign-off (flow run {run_id})", flush=True)
        resume_flow_run(run_id, run_input=ask_signoff())


def _stop(
    settings: Settings,
    shown: console.Console,
    name: str,
    thread: threading.Thread,
    run_id: str,
    code: int,
    why: BaseException,
) -> None:
    """End the command now: tasks stop after their chunk, whole records finish, the flow run
    is marked cancelled, the server and Dask workers stop, one line says what to do."""
    shown.stop.set()
    _QUIET.everything = True  # the tasks' failures that follow are the stop, not news
    words = "interrupted" if code == INTERRUPTED else f"error: {why}"
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: stop waiting
        print("stopping: the entities stop after their current chunk…", file=sys.stderr)
        thread.join(GRACE_SECONDS)
        shown.wait_for_whole()
        _cancel_flow_run(name, words)
    line = f"{words}; {_stopped(settings, run_id)}"
    # task threads may still be queued or inside a chunk, and the interpreter would wait
    # for them at exit (restarting a server to report to): end the process here instead
    stop_started_server()
    _end_children()
    print(line, file=sys.stderr, flush=True)
    sys.stdout.flush()
    os._exit(code)  # threads still in a chunk: what kill -9 leaves, resumable exactly


def _stopped(settings: Settings, run_id: str) -> str:
    from migrate.runs.locate import locate_run

    try:
        locate_run(settings, run_id)
    except Exception:  # noqa: BLE001 - the run record was never written
        return f"run {run_id} had not started; nothing staged"
    return f"run {run_id} stopped; finish it with: migrate cutover --resume {run_id}"


def _cancel_flow_run(name: str, words: str) -> None:
    """Mark the flow run cancelled in Prefect (best effort: the server may be gone)."""
    from prefect.states import Cancelled

    with contextlib.suppress(Exception):
        found = flow_run_of(name)
        if found is not None and not (found.state and found.state.is_final()):
            with get_client(sync_client=True) as client:
                client.set_flow_run_state(found.id, Cancelled(message=words), force=True)


def _end_children() -> None:
    """Stop every process this one started (Dask workers, a server) before leaving."""
    try:
        import psutil
    except ImportError:  # pragma: no cover - installed with Dask
        return
    children = psutil.Process().children(recursive=True)
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.terminate()
    _, alive = psutil.wait_procs(children, timeout=5)
    for child in alive:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _report(box: dict[str, Any], quiet: bool = False) -> int:
    error = box.get("error")
    if isinstance(error, CutoverFailed):
        print(f"cutover failed: {error}", file=sys.stderr)
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
