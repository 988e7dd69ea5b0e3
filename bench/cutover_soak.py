"""Run ``migrate cutover --mode rehearsal`` again and again on one estate and tally the outcome.

Each run is the documented quick start, answered on stdin as an approver would (the default
``--signoff pause``), in a fresh process with no ``PREFECT_API_URL``. A run succeeds when
the command ends with its summary line (``run <id> (rehearsal): reconciliation …, sign-off
…``) and the same verdict as the others; the demo estate has planted defects, so that
verdict is FAIL and the exit code 1, as ``migrate run`` + ``migrate reconcile`` give. For
each run it also counts, from ``/proc``, the Prefect servers the run started (a marker in
the environment finds the run's descendants, so other sessions' processes never count) and
the processes of the run still alive once it has ended.

    python bench/cutover_soak.py --runs 20 --dask-runs 5 --workdir /tmp/soak

Prints a line per run as it ends, then the tally (also written as JSON lines with
``--log``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MIGRATE = [sys.executable, "-m", "cli.main"]
SERVER = "prefect.server.api.server:create_app"
# the prompts before it end without a newline, so the line is found anywhere
SUMMARY = re.compile(r"run (\w+) \(rehearsal\): reconciliation (\w+)[^\n]*sign-off ([^\n]+)")


def marked(mark: str) -> dict[int, str]:
    """pid -> command line of every process whose environment carries the marker."""
    found: dict[int, bytes] = {}
    needle = f"MIGRATE_SOAK_MARK={mark}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:  # ended meanwhile, or not ours to read
            continue
    return {pid: cmd.decode(errors="replace") for pid, cmd in found.items()}


def servers_seen(mark: str, stop: threading.Event, seen: set[int]) -> None:
    while not stop.is_set():
        seen.update(pid for pid, cmd in marked(mark).items() if SERVER in cmd)
        stop.wait(0.3)


def one_run(
    workdir: Path, dask: bool, timeout: float, keep: Path | None = None
) -> dict[str, object]:
    mark = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API_", "MIGRATE_"))}
    env.update({"MIGRATE_SOAK_MARK": mark, "PYTHONPATH": str(ROOT)})
    cmd = [*MIGRATE, "--workdir", str(workdir), "cutover", "--mode", "rehearsal"]
    cmd += ["--dask", "local"] if dask else []
    load = os.getloadavg()
    seen: set[int] = set()
    stop = threading.Event()
    watcher = threading.Thread(target=servers_seen, args=(mark, stop, seen), daemon=True)
    watcher.start()
    began = time.monotonic()
    try:
        done = subprocess.run(
            cmd,
            input="soak\napprove\nsoak run\n",
            capture_output=True,
            text=True,
            env=env,
            cwd=workdir,
            timeout=timeout,
        )
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as exc:
        code, out, err = -1, str(exc.stdout or ""), f"timed out after {timeout} s"
    seconds = time.monotonic() - began
    stop.set()
    watcher.join()
    left: dict[int, str] = {}
    for _ in range(20):  # a process that is ending gets a few seconds
        left = marked(mark)
        if not left:
            break
        time.sleep(0.5)
    if keep is not None:  # what the run printed, to read a failure or a traceback later
        keep.mkdir(parents=True, exist_ok=True)
        (keep / f"{mark[:8]}.out").write_text(out, encoding="utf-8")
        (keep / f"{mark[:8]}.err").write_text(err, encoding="utf-8")
    found = SUMMARY.search(out)
    last = (err.strip().splitlines() or [""])[-1]
    return {
        "dask": dask,
        "load_1m": round(load[0], 2),
        "load_5m": round(load[1], 2),
        "exit": code,
        "seconds": round(seconds, 1),
        "run_id": found.group(1) if found else None,
        "verdict": found.group(2) if found else None,
        "signoff": found.group(3) if found else None,
        "servers": len(seen),
        "left_behind": sorted(left.values()),
        "traceback": "Traceback" in out + err,
        "last_error_line": last if not found else "",
        "output": f"{keep / mark[:8]}.out/.err" if keep is not None else None,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=20, help="threaded runs (default 20)")
    p.add_argument("--dask-runs", type=int, default=5, help="runs with --dask local (default 5)")
    p.add_argument("--workdir", type=Path, default=Path("/tmp/cutover_soak"))
    p.add_argument("--scale", type=int, default=2000, help="estate scale (default 2000)")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per run (default 900)")
    p.add_argument("--log", type=Path, help="also write each run as a JSON line here")
    p.add_argument("--keep", type=Path, help="keep each run's stdout and stderr in this folder")
    args = p.parse_args(argv)
    work: Path = args.workdir
    work.mkdir(parents=True, exist_ok=True)
    if not (work / "estate_manifest.json").exists():
        build = [*MIGRATE, "--workdir", str(work), "estate", "build", "--scale", str(args.scale)]
        subprocess.run(build, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    plan = [False] * args.runs + [True] * args.dask_runs
    results = []
    for i, dask in enumerate(plan, 1):
        r = one_run(work, dask, args.timeout, args.keep)
        results.append(r)
        if args.log:
            with args.log.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps({"n": i, "at": time.strftime("%H:%M:%S"), **r}) + "\n")
        print(
            f"{i:>3} {'dask' if dask else 'threads':<8} exit {r['exit']:>3} {r['seconds']:>7.1f} s"
            f"  load {r['load_1m']:>5.2f}  servers {r['servers']}  left {len(r['left_behind'])}"  # type: ignore[arg-type]
            f"  {r['verdict'] or r['last_error_line']}{'  (traceback)' if r['traceback'] else ''}",
            flush=True,
        )
    verdicts = {r["verdict"] for r in results if r["verdict"]}
    ok = [
        r
        for r in results
        if r["verdict"] and len(verdicts) == 1 and r["servers"] == 1 and not r["left_behind"]
    ]
    for dask in (False, True):
        mine = [r for r in results if r["dask"] is dask]
        good = [r for r in ok if r["dask"] is dask]
        if mine:
            secs = sorted(float(r["seconds"]) for r in mine)  # type: ignore[arg-type]
            loads = [float(r["load_1m"]) for r in mine]  # type: ignore[arg-type]
            print(
                f"{'dask local' if dask else 'threads'}: {len(good)}/{len(mine)} succeeded; "
                f"{min(secs):.0f} to {max(secs):.0f} s (median {secs[len(secs) // 2]:.0f}); "
                f"load average (1 min) {min(loads):.1f} to {max(loads):.1f}"
            )
    left = sum(len(r["left_behind"]) for r in results)  # type: ignore[arg-type, misc]
    print(f"verdicts: {sorted(str(v) for v in verdicts)}; processes left behind: {left}")
    return 0 if len(ok) == len(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
