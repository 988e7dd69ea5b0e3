"""``migrate cutover`` as a user runs it: one Prefect server, nothing left running, Ctrl-C.

Each case runs the command in a child process with no ``PREFECT_API_URL`` (so the command
starts its own server) and a marker in its environment: every process it starts inherits
the marker, so the test counts the Prefect servers the command started while it ran and
the processes still alive once it has ended, without ever counting another session's.
Before ``flows/server.py`` a cutover started two or three temporary servers, and a failed
or interrupted one left them running.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

pytest.importorskip("prefect")

from fixtures.estate.build import build_estate, default_urls  # noqa: E402
from migrate.config import load_settings  # noqa: E402
from migrate.runs.lock import run_lock  # noqa: E402
from migrate.runs.runner import staging_target  # noqa: E402

pytestmark = [pytest.mark.prefect, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
SERVER = "prefect.server.api.server:create_app"
FIRST = re.compile(
    r"^run (\w{12}|\w{32}) \((\w+)\) starting; if it stops: migrate cutover --resume \1$"
)


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    servers: set[int] = field(default_factory=set)
    left: dict[int, str] = field(default_factory=dict)


def marked(mark: str) -> dict[int, str]:
    """pid -> command line of every live process carrying the marker."""
    found: dict[int, str] = {}
    needle = f"MIGRATE_TEST_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                    found[int(entry.name)] = cmd.decode(errors="replace")
            except OSError:
                continue
    return found


def cutover(work: Path, *args: str, interrupt_on: str | None = None) -> Outcome:
    """Run ``migrate cutover`` in a child; with ``interrupt_on``, SIGINT (Ctrl-C) once a
    line of its stderr contains that text."""
    mark = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MIGRATE_"))}
    env.update(MIGRATE_TEST_MARK=mark, PYTHONPATH=str(ROOT), PREFECT_HOME=str(work / "home"))
    servers: set[int] = set()
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            servers.update(p for p, cmd in marked(mark).items() if SERVER in cmd)
            stop.wait(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    cmd = [sys.executable, "-m", "cli.main", "--workdir", str(work), "cutover", *args]
    child = subprocess.Popen(
        cmd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),  # as on a terminal
    )
    err_lines: list[str] = []

    def read_err() -> None:
        assert child.stderr is not None
        for line in child.stderr:
            err_lines.append(line)
            if interrupt_on and interrupt_on in line and child.poll() is None:
                child.send_signal(signal.SIGINT)

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    assert child.stdout is not None
    out = child.stdout.read()
    code = child.wait(timeout=600)
    reader.join(timeout=10)
    stop.set()
    watcher.join()
    left: dict[int, str] = {}
    for _ in range(20):  # a process that is ending gets a few seconds
        left = marked(mark)
        if not left:
            break
        time.sleep(0.5)
    return Outcome(code, out, "".join(err_lines), servers, left)


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("cutover_estate")
    build_estate(default_urls(folder), folder / "extracts", scale=200, seed=3)
    return folder


def workdir(estate: Path, folder: Path) -> Path:
    for db in estate.glob("legacy_*.db"):
        shutil.copy(db, folder / db.name)
    shutil.copytree(estate / "extracts", folder / "extracts")
    return folder


def test_one_server_and_nothing_left_after_a_cutover(estate: Path, tmp_path: Path) -> None:
    done = cutover(workdir(estate, tmp_path), "--mode", "rehearsal", "--signoff", "skip")
    first = FIRST.match(done.out.splitlines()[0])
    assert first is not None, done.out  # the run id before anything else
    summary = re.search(r"^run (\w+) \(rehearsal\): reconciliation (\w+)", done.out, re.M)
    assert summary is not None and summary.group(1) == first.group(1), done.out + done.err
    assert done.code == {"PASS": 0, "EXCEPTIONS": 3}.get(summary.group(2), 1)
    assert len(done.servers) == 1, done.servers
    assert not done.left, done.left
    assert re.search(r"^gl_accounts +[\d,]+ rows .* done$", done.err, re.M)  # a line per entity
    assert "Traceback" not in done.err


def test_a_failed_entity_is_named_and_nothing_is_left(estate: Path, tmp_path: Path) -> None:
    work = workdir(estate, tmp_path)
    receipts = work / "extracts" / "proc_receipts.csv"
    lines = receipts.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    receipts.write_text("".join(lines[1:]), encoding="utf-8")  # its header gone
    done = cutover(work, "--mode", "rehearsal", "--signoff", "skip")
    assert done.code == 1, done.out + done.err
    failed = re.search(r"^cutover failed: run (\w+): failed: (.+)$", done.err, re.M)
    assert failed is not None, done.err
    assert failed.group(2).startswith("receipts ("), failed.group(2)
    assert len(done.servers) == 1 and not done.left, (done.servers, done.left)


def test_ctrl_c_stops_and_leaves_nothing(estate: Path, tmp_path: Path) -> None:
    work = workdir(estate, tmp_path)
    began = time.monotonic()
    done = cutover(work, "--mode", "rehearsal", "--signoff", "skip", interrupt_on="  done")
    run_id = FIRST.match(done.out.splitlines()[0]).group(1)  # type: ignore[union-attr]
    assert done.code == 130, done.out + done.err
    last = done.err.strip().splitlines()[-1]
    assert last == f"interrupted; run {run_id} stopped; finish it with: migrate cutover " + (
        f"--resume {run_id}"
    )
    assert "Traceback" not in done.err
    assert len(done.servers) == 1 and not done.left, (done.servers, done.left)
    assert time.monotonic() - began < 300


def test_a_staging_in_use_is_refused_before_a_server_starts(estate: Path, tmp_path: Path) -> None:
    work = workdir(estate, tmp_path)
    url, schema = staging_target(load_settings(work), "rehearsal")
    with run_lock(url, schema, "someone-else"):
        done = cutover(work, "--mode", "rehearsal", "--signoff", "skip")
    assert done.code == 2, done.out + done.err
    assert "in use by run someone-else" in done.err and "Traceback" not in done.err
    assert not done.servers and not done.left
