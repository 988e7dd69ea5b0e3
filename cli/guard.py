"""What each command needs before it starts: a working folder, and connections that answer.

The command line calls :func:`check_before` once the settings are read. A command that
only reads staging (``reconcile``, ``lineage trace``, ``rollback`` of an unknown id,
``runs``) must not create a staging file where there is none, and must say "no run yet"
rather than "unknown run id" when nothing has ever run here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from migrate.config import Settings
from migrate.errors import ConfigError, RunStateError
from migrate.reach import probe, sqlite_path
from migrate.runs.locate import staging_target

# command -> (staging: "" none | "read" | "write", legacy systems probed)
NEEDS: dict[str, tuple[str, bool]] = {
    "run": ("write", True),
    "resume": ("write", True),
    "rollback": ("write", False),
    "reconcile": ("write", True),
    "runs": ("read", False),
    "lineage": ("read", False),
    "mappings check": ("", True),
    "mappings coverage": ("", True),
    "cutover": ("write", True),
    "audit signoff": ("write", False),
    "audit history": ("read", False),
}
RUN_READERS = ("resume", "rollback", "reconcile", "lineage", "audit signoff", "audit history")
MODAL = ("run", "cutover")  # commands whose --mode picks the staging (a rehearsal's own)


def command_name(args: argparse.Namespace) -> str:
    sub = getattr(args, "mappings_cmd", None) or getattr(args, "audit_cmd", None)
    return f"{args.command} {sub}" if sub else str(args.command)


def require_workdir(args: argparse.Namespace) -> None:
    """A ``--workdir`` that does not exist is a typo, not a new estate (only ``demo`` and
    ``estate build`` make one); so is a ``--mappings`` folder that does not exist (it was
    reported as "no mapping files under finance, hr, procurement/", two lines)."""
    if args.workdir and args.command not in ("demo", "estate"):
        folder = Path(args.workdir)
        if not folder.is_dir():
            raise ConfigError(
                f"working folder not found: {folder} (check --workdir; `migrate --workdir "
                f"{folder} demo` makes a new one with the demo estate)"
            )
    mappings = getattr(args, "mappings", None)
    if mappings and args.command != "completion" and not Path(mappings).is_dir():
        raise ConfigError(
            f"mappings folder not found: {mappings} (check --mappings; without it the "
            "shipped mappings/ of this checkout are used)"
        )


def check_before(args: argparse.Namespace, settings: Settings, systems: set[str]) -> None:
    """Probe what the command needs; ``systems``: the legacy systems its mappings read."""
    name = command_name(args)
    staging, legacy = NEEDS.get(name, ("", False))
    if name == "mappings check" and getattr(args, "offline", False):
        legacy = False
    if staging:
        mode = getattr(args, "mode", None) if name in MODAL else None
        url, _ = staging_target(settings, mode or "full")
        probe(settings, "staging", url, write=staging == "write")
    if legacy:
        for system in sorted(systems):
            probe(settings, system)
    if name in RUN_READERS:
        _require_some_run(settings, getattr(args, "run_id", None))


def _require_some_run(settings: Settings, run_id: str | None = None) -> None:
    """On SQLite: no staging file (real or rehearsal) means nothing has run here yet."""
    files = [sqlite_path(staging_target(settings, m)[0]) for m in ("full", "rehearsal")]
    if all(f is not None and not f.exists() for f in files):
        which = f"unknown run id {run_id!r}: " if run_id else ""
        raise RunStateError(
            f"{which}no run yet here: {files[0]} does not exist (start one with `migrate run`)"
        )


def no_run_yet(settings: Settings) -> bool:
    """Whether staging is SQLite and neither its file nor the rehearsal's exists."""
    try:
        _require_some_run(settings)
    except RunStateError:
        return True
    return False
