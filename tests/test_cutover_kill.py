"""``migrate cutover`` killed with SIGKILL mid-load: the operator's terminal or session died.

Nothing can run in the killed process, so what must hold is what the kernel and the
databases do for it: every process the cutover started (the Prefect server, the Dask
workers) ends within seconds, the staging's run lock is free (it is the database's or a
``flock``, released with the process), and the run is finished by the command the console
printed first, ``migrate resume <run id>``, to the same reconciliation an uninterrupted run
gets: the same verdict and, per entity, the same source, staged, rejected and filtered rows,
amounts, differences and rejects (nothing lost, nothing loaded twice).

The estate is the smallest the generator makes (scale 200), loaded in chunks of 20 rows so
that entities are still loading when the first one is shown; one uninterrupted ``migrate
run`` of it is the reference.
"""

from __future__ import annotations

import contextlib
import json
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
from typing import Any

import pytest

pytest.importorskip("prefect")

from fixtures.estate.build import build_estate, default_urls  # noqa: E402

pytestmark = [pytest.mark.prefect, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[1]
FIRST = re.compile(r"^run (\w{12}|\w{32}) \((\w+)\) starting; if it stops: (migrate .+)$")
ENTITY_LINE = re.compile(r"^\w+ +[\d,]+ rows ")  # the console's line for an entity
CHUNK = "20"
STOPPED = (
    "error: run {id} (rehearsal) stopped before it finished and nothing runs it now (its "
    "process is gone); finish it with: migrate cutover --resume {id} (or roll it back: "
    "migrate rollback {id})"
)
GONE_WITHIN = 10.0  # seconds for every process the cutover started to end after the kill


@dataclass
class Killed:
    run_id: str
    said: str  # the console's first line
    err: str  # stderr up to the kill
    left: dict[int, str] = field(default_factory=dict)  # still alive GONE_WITHIN s after
    seen: dict[int, str] = field(default_factory=dict)  # every process that carried the mark
    gone_after: float = 0.0


def marked(mark: str) -> dict[int, str]:
    """pid -> command line of every live process carrying the marker (zombies excluded:
    they have ended, only their exit status is left)."""
    found: dict[int, str] = {}
    needle = f"MIGRATE_TEST_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "environ").read_bytes().split(b"\0"):
                    if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                        continue
                    cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                    found[int(entry.name)] = cmd.decode(errors="replace")
            except (OSError, IndexError):
                continue
    return found


def child_env(work: Path, mark: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "MIGRATE_"))}
    env.update(MIGRATE_TEST_MARK=mark, PYTHONPATH=str(ROOT), PREFECT_HOME=str(work / "home"))
    return env


def migrate(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run a ``migrate`` command to its end (its own marker: nothing of it is counted)."""
    cmd = [sys.executable, "-m", "cli.main", "--workdir", str(work), *args]
    env = child_env(work, uuid.uuid4().hex)
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, check=False)


def kill_cutover(work: Path, *args: str) -> Killed:
    """``migrate cutover`` killed with SIGKILL once its console shows the first entity."""
    mark = uuid.uuid4().hex
    seen: dict[int, str] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            seen.update(marked(mark))
            stop.wait(0.1)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    cmd = [sys.executable, "-m", "cli.main", "--workdir", str(work), "cutover", *args]
    child = subprocess.Popen(
        cmd,
        env=child_env(work, mark),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None and child.stderr is not None
    said = child.stdout.readline().rstrip("\n")
    err: list[str] = []
    for line in child.stderr:
        err.append(line)
        if ENTITY_LINE.match(line):
            child.kill()  # SIGKILL: nothing of the cutover runs after this
            break
    killed_at = time.monotonic()
    child.wait(timeout=60)
    stop.set()
    watcher.join()
    left = marked(mark)
    while left and time.monotonic() - killed_at < GONE_WITHIN:
        time.sleep(0.2)
        left = marked(mark)
    gone_after = time.monotonic() - killed_at
    for pid in left:  # not to disturb the next test: the failure is already recorded
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    first = FIRST.match(said)
    assert first is not None, said + "".join(err)
    return Killed(first.group(1), said, "".join(err), left, seen, gone_after)


def verdict(work: Path, run_id: str, reconcile: bool = True) -> dict[str, Any]:
    """The run's (latest) reconciliation's verdict and figures, without what differs between
    two runs of the same estate (the run's id, times and durations)."""
    said = ""
    if reconcile:
        done = migrate(work, "reconcile", run_id)
        said = done.stdout + done.stderr
        assert done.returncode in (0, 1, 3), said
    found = sorted((work / "artifacts").glob(f"reconciliation_{run_id}_*.json"))
    assert len(found) == 1, (found, said)  # the run's one reconciliation
    report = json.loads(found[-1].read_text(encoding="utf-8"))

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {
                k: clean(v)
                for k, v in value.items()
                if k not in ("run", "seconds", "elapsed", "sha256", "started_at", "ended_at")
            }
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value.replace(run_id, "<run>") if isinstance(value, str) else value

    figures: dict[str, Any] = clean(report)
    figures["entities"] = sorted(figures["entities"], key=lambda e: str(e["entity"]))
    return figures


def open_flow_runs(work: Path) -> list[tuple[str, str]]:
    """(name, state) of the flow runs not ended in the cutover's own Prefect database."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(work / ".prefect" / "prefect.db")) as db:
        rows = db.execute(
            "SELECT name, state_type FROM flow_run WHERE state_type NOT IN "
            "('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED')"
        ).fetchall()
    return [(str(n), str(s)) for n, s in rows]


@pytest.fixture(scope="module")
def estate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("kill_estate")
    build_estate(default_urls(folder), folder / "extracts", scale=200, seed=3)
    return folder


def workdir(estate: Path, folder: Path) -> Path:
    for db in estate.glob("legacy_*.db"):
        shutil.copy(db, folder / db.name)
    shutil.copytree(estate / "extracts", folder / "extracts")
    return folder


@pytest.fixture(scope="module")
def uninterrupted(estate: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The reconciliation of the same estate loaded by one run that nobody stopped."""
    work = workdir(estate, tmp_path_factory.mktemp("uninterrupted"))
    done = migrate(work, "run", "--mode", "rehearsal", "--chunk-size", CHUNK)
    assert done.returncode == 0, done.stdout + done.stderr
    first = FIRST.match(done.stdout.splitlines()[0])
    assert first is not None, done.stdout
    return verdict(work, first.group(1))


@pytest.mark.parametrize("dask", [False, True], ids=["threads", "dask-local"])
def test_kill_9_mid_load_leaves_nothing_and_resumes_to_the_same_figures(
    estate: Path, tmp_path: Path, uninterrupted: dict[str, Any], dask: bool
) -> None:
    work = workdir(estate, tmp_path)
    args = ["--mode", "rehearsal", "--signoff", "skip", "--chunk-size", CHUNK]
    killed = kill_cutover(work, *args, *(["--dask", "local"] if dask else []))
    # (1) nothing the cutover started outlives it by more than a few seconds
    assert not killed.left, (killed.left, killed.err)
    assert any("prefect.server" in cmd for cmd in killed.seen.values()), killed.seen
    if dask:  # the workers did run (and ended with the rest)
        assert sum("multiprocessing" in cmd for cmd in killed.seen.values()) >= 2, killed.seen
    # (2) the lock is free: a new cutover is refused in one line naming the stopped run
    # (it would roll back, or load on top of, a run nobody finished), before a server starts
    again = migrate(work, "cutover", *args)
    assert again.returncode == 2, again.stdout + again.stderr
    assert again.stdout == "", again.stdout  # no new run is announced
    assert again.stderr.strip().splitlines() == [STOPPED.format(id=killed.run_id)]
    # (3) the command printed first finishes the run
    said = killed.said.split("if it stops: ", 1)[1].split()
    assert said == ["migrate", "cutover", "--resume", killed.run_id], killed.said
    if not dask:  # the core alone, as ``migrate runs`` suggests, then a reconciliation
        resumed = migrate(work, "resume", killed.run_id)
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    else:  # the printed command: the flow again, which reconciles (FAIL: unreadable amounts)
        resumed = migrate(work, "cutover", "--resume", killed.run_id, "--signoff", "skip")
        assert resumed.returncode in (0, 1, 3), resumed.stdout + resumed.stderr
        assert f"run {killed.run_id} (rehearsal): reconciliation" in resumed.stdout
        assert open_flow_runs(work) == [], "the killed flow run is still open in Prefect"
    assert "Traceback" not in resumed.stderr
    assert verdict(work, killed.run_id, reconcile=not dask) == uninterrupted
