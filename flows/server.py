"""One Prefect API server for a whole ``migrate cutover``, started once and always stopped.

With no ``PREFECT_API_URL``, Prefect 3 starts a temporary server (``SubprocessASGIServer``)
the first time any of its parts needs the API: the flow's client, the events worker and the
log worker each ask from their own thread, and that lazy start is not guarded against
threads. On a busy machine two or three servers were started for one cutover (on one SQLite
file: ``database is locked``), one thread found the other's half-started server (``Server
process did not start``), the 20-second start timeout passed (``Timed out while attempting
to connect``), and Dask worker processes, which inherit no API URL, started their own.
Servers were stopped only by an ``atexit`` hook, so a killed or crashed cutover left them
running.

:func:`cutover_server` does what ``prefect.testing.utilities.prefect_test_harness`` does for
tests, for the cutover: it starts one server before anything else (in the main thread, with
a start timeout of at least :data:`STARTUP_TIMEOUT` seconds), registers it as Prefect's
default temporary server (so nothing in the process starts another), puts its URL in
``PREFECT_API_URL`` (settings and environment, so Dask workers use it too), and stops it
when the block ends, however it ends. The server runs in a session of its own (a Ctrl-C on
the terminal reaches the cutover, which stops it in order) and is killed by the kernel if
the cutover process dies (``PR_SET_PDEATHSIG``), so none is left behind even after kill -9.

Its database: ``PREFECT_API_DATABASE_CONNECTION_URL`` when configured (a PostgreSQL one
belongs there: ``postgresql+asyncpg://…``), else a SQLite file in the working folder
(``<workdir>/.prefect/prefect.db``), so cutovers of different working folders never share
one SQLite file with each other or with anything else using ``~/.prefect``. With
``PREFECT_API_URL`` already set (a ``prefect server start`` with its UI), that server is
used and nothing is started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from migrate.errors import TerminalError


class ServerFailed(TerminalError):
    """The cutover's Prefect server could not be started."""


STARTUP_TIMEOUT = 120  # seconds; Prefect's own default (20) is too short on a busy machine
SERVER_APP = "prefect.server.api.server:create_app"


def _die_with_parent() -> None:  # pragma: no cover - runs in the forked child
    """In the server's process, before exec: the kernel sends SIGTERM when the thread that
    started it ends (the main thread: the cutover process)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def server_class() -> Any:
    """Prefect's temporary server, started in a session of its own that dies with us."""
    import prefect
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import get_current_settings

    class CutoverServer(SubprocessASGIServer):
        log_path: Path | None = None  # the server's own output (not the cutover's terminal)

        def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
            # Prefect's own command line (prefect/server/api/server.py), plus the session
            # and the parent-death signal
            env = {
                "PREFECT_SERVER_ANALYTICS_ENABLED": "0",  # no telemetry from a cutover machine
                **os.environ,
                "PREFECT_UI_ENABLED": "0",
                "PREFECT__SERVER_EPHEMERAL": "1",
                "PREFECT__SERVER_FINAL": "1",
                **get_current_settings().to_environment_variables(exclude_unset=True),
            }
            args = [sys.executable, "-m", "uvicorn", "--app-dir"]
            args += [str(prefect.__module_path__.parent), "--factory", SERVER_APP]
            args += ["--host", "127.0.0.1", "--port", str(self.port), "--log-level", "error"]
            args += ["--lifespan", "on"]
            with contextlib.ExitStack() as files:  # the child keeps its own copy
                log = files.enter_context(self.log_path.open("ab")) if self.log_path else None
                return subprocess.Popen(
                    args,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT if log else None,
                    start_new_session=True,
                    preexec_fn=_die_with_parent if sys.platform == "linux" else None,
                )

    return CutoverServer


def database_url(workdir: Path) -> str | None:
    """The server's database: Prefect's setting when configured, else one in ``workdir``."""
    from prefect.settings import get_current_settings

    db = get_current_settings().server.database
    if db.model_fields_set & {"connection_url", "driver", "host", "name"}:
        return None  # configured (environment, .env or profile): Prefect uses it as is
    folder = workdir / ".prefect"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{folder / 'prefect.db'}"


@contextlib.contextmanager
def cutover_server(workdir: Path, timeout: int | None = None) -> Iterator[str]:
    """The API URL for the cutover: the configured server's, or one started for the block."""
    from prefect.context import refresh_global_settings_context
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import (
        PREFECT_API_DATABASE_CONNECTION_URL,
        PREFECT_API_URL,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    configured = PREFECT_API_URL.value()
    if configured:
        yield str(configured)
        return
    wait = timeout or max(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value(), STARTUP_TIMEOUT)
    db = database_url(workdir)
    updates = {PREFECT_API_DATABASE_CONNECTION_URL: db} if db else {}
    server = server_class()(port=_free_port())
    server.log_path = _log_file(workdir)
    before = SubprocessASGIServer._instances.get(None)
    saved = {k: os.environ.get(k) for k in ("PREFECT_API_URL",)}
    try:
        with temporary_settings(updates=updates):
            try:
                server.start(timeout=wait)
            except Exception as exc:  # one line: where the server's own output is
                raise ServerFailed(
                    f"the Prefect server did not start within {wait} s ({exc}); its output "
                    f"is in {server.log_path}. Raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_"
                    "SECONDS, or start one (prefect server start) and set PREFECT_API_URL"
                ) from None
        SubprocessASGIServer._instances[None] = server  # what Prefect's lazy start finds
        os.environ["PREFECT_API_URL"] = server.api_url  # Dask workers and other children
        refresh_global_settings_context()  # threads started from now on see it
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            try:
                yield server.api_url
            finally:
                _drain()  # before the server goes: nothing is left to send at exit
    finally:
        server.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        refresh_global_settings_context()
        # Prefect's lazy start, if anything still asks, finds this (stopped) server: started
        # again, it is one of ours (own session, dies with this process), never an orphan
        SubprocessASGIServer._instances[None] = before or server


def stop_started_server() -> None:
    """Stop the server :func:`cutover_server` started (when the process must end at once)."""
    from prefect.server.api.server import SubprocessASGIServer

    for server in list(SubprocessASGIServer._instances.values()):
        with contextlib.suppress(Exception):
            server.stop()


def _drain() -> None:
    """Send the logs and events still queued before the server goes (as the harness does)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    with contextlib.suppress(Exception):
        APILogWorker.drain_all(timeout=10)
    with contextlib.suppress(Exception):
        EventsWorker.drain_all(timeout=10)


def _log_file(workdir: Path) -> Path:
    """``<workdir>/.prefect/server.log``: the server's output, kept for the last cutover."""
    folder = workdir / ".prefect"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "server.log"
    path.write_bytes(b"")
    return path


def _free_port() -> int:
    """A port free now (Prefect retries another if it is taken when the server binds)."""
    import socket

    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
