"""The ``migrate`` command line. ``migrate --help`` lists what exists.

Every command exits 0 on success, 1 when the work it checked failed (a reconciliation FAIL,
mapping problems), 3 for a reconciliation with EXCEPTIONS to accept, 2 on bad input (config,
unknown run id, a run stopped by an error), 4 when a connection cannot be used (a server
down, a database or legacy file missing, a login refused, a read-only staging: never a
verdict, so a script does not read "server down" as FAIL), 130 when stopped with Ctrl-C
(one line, ``interrupted``, naming the run to resume); every error prints as one line (a
stopped run's says how to resume it), without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from cli.parser import CONNECTION_FAILED, DEFAULT_MAPPINGS, INTERRUPTED, build_parser
from migrate.config import Settings, load_settings
from migrate.errors import ConnectionFailed, MigrationError, SpecErrors, TerminalError

__all__ = ["CONNECTION_FAILED", "DEFAULT_MAPPINGS", "INTERRUPTED", "build_parser", "main"]

Handler = Callable[[argparse.Namespace, Settings], int]


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        Path(args.workdir) if args.workdir else None, Path(args.config) if args.config else None
    )


def _systems(args: argparse.Namespace) -> set[str]:
    """The legacy systems the mappings read through a connection (not from files)."""
    from cli.guard import NEEDS, command_name
    from migrate.spec.loader import load_project

    if not NEEDS.get(command_name(args), ("", False))[1]:
        return set()
    try:
        project = load_project(Path(args.mappings))
    except SpecErrors:
        return set()  # the command reports the mapping errors itself
    chosen = list(getattr(args, "entity", None) or [])
    entities = list(project.entities.values())
    if chosen and not any("+" in name for name in chosen):  # `--entity X`: X's systems only
        entities = [e for e in entities if e.spec.entity in chosen]
    return {e.spec.source.system for e in entities if e.spec.source.file is None}


def main(argv: list[str] | None = None) -> int:
    from cli.guard import check_before, require_workdir
    from migrate.reach import connection_cause
    from migrate.targets.declared import declare_for_command

    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    level = logging.DEBUG if args.debug else logging.ERROR if quiet else logging.WARNING
    if args.log_json:
        log_json_lines(level)
    else:
        logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        require_workdir(args)
        settings = _settings(args)
        declare_for_command(args)  # the project's own targets/, for every command
        check_before(args, settings, _systems(args))
        handler: Handler = args.handler
        code = handler(args, settings)
        sys.stdout.flush()  # a closed pipe shows here, not at the interpreter's exit
        return code
    except BrokenPipeError:
        return closed_stdout()
    except SpecErrors as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        print(f"{len(exc.errors)} mapping error(s)", file=sys.stderr)
        return 2
    except ConnectionFailed as exc:
        if args.debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return CONNECTION_FAILED
    except Exception as exc:  # ours (one line) or a defect nobody foresaw: never a traceback
        if args.debug:
            raise
        cause = connection_cause(exc)
        if cause is not None:
            notes = "".join(f"; {n}" for n in getattr(exc, "__notes__", []))
            print(f"error: a database connection failed: {cause}{notes}", file=sys.stderr)
            return CONNECTION_FAILED
        ours = isinstance(exc, (TerminalError, MigrationError))
        where = "" if ours else f"{type(exc).__name__}: "
        print(
            f"error: {where}{one_line(exc)}" + ("" if ours else " (--debug shows where)"),
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt as stop:  # Ctrl-C: one line, no traceback, the code for SIGINT
        if args.debug:
            raise
        said = [" ".join(str(n).split()) for n in getattr(stop, "__notes__", [])]
        print("; ".join(["interrupted", *said]), file=sys.stderr)
        return INTERRUPTED


class JsonLines(logging.Formatter):
    """One JSON object per record (time, level, logger, message) for a log shipper."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def log_json_lines(level: int) -> None:
    """Logs to stderr as JSON lines (replacing an earlier handler of ours, not others')."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonLines)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonLines())
    root.addHandler(handler)
    root.setLevel(level)


def closed_stdout() -> int:
    """``migrate ... | head -1``: the reader has gone, so end quietly with the shell's code
    for SIGPIPE (128 + 13), as other command-line tools do. Standard output is pointed at
    ``/dev/null`` so the interpreter's final flush does not fail again (Python's docs,
    "Note on SIGPIPE")."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is no real file (a test's capture)
        pass
    return 141


def one_line(exc: BaseException) -> str:
    """The error and its notes (how to resume a stopped run) on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    notes = [" ".join(str(n).split()) for n in getattr(exc, "__notes__", [])]
    return "; ".join([text, *notes])


if __name__ == "__main__":
    sys.exit(main())
