"""The ``migrate`` argument parser: every option's help says its default, every command's
help ends with examples. Handlers are in :mod:`cli.commands`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from cli import commands as cmds
from cli.usage import OneLineParser
from migrate.runs.history import runs_to_compare

DEFAULT_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
CONNECTION_FAILED = 4  # a connection cannot be used: apart from FAIL (1) and bad input (2)
INTERRUPTED = 130


EXIT_CODES = (
    "Exit codes: 0 PASS or success, 3 EXCEPTIONS (reconcile: the totals hold, exceptions to "
    "accept before signing), 1 FAIL or the checked work failed (mapping problems, an approval "
    "that does not approve, a run in which an entity read rows and staged none), 2 cannot "
    "reconcile or bad input (config, unknown run id), "
    f"{CONNECTION_FAILED} cannot connect (a server down, a database or legacy file missing, a "
    f"login refused, a read-only staging: never a verdict), {INTERRUPTED} interrupted (Ctrl-C)."
)


class ExamplesFormatter(argparse.HelpFormatter):
    """Descriptions wrapped as usual; the examples kept line by line, as typed."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)


def _sub(sub: Any, name: str, help: str, examples: str, description: str = "") -> Any:
    """A sub-command whose help ends with examples a user can copy."""
    return sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog="examples:\n" + examples,
        formatter_class=ExamplesFormatter,
    )


def build_parser() -> argparse.ArgumentParser:
    p = OneLineParser(
        prog="migrate",
        description="Migrate legacy finance, HR and procurement data into ERP staging, and "
        "prove it. " + EXIT_CODES,
        epilog="examples:\n  migrate --workdir /tmp/demo demo\n  migrate doctor\n"
        "  migrate run --mode rehearsal --dry-run\n  migrate runs\n  migrate reconcile",
        formatter_class=ExamplesFormatter,
    )
    p.add_argument("--workdir", help="working folder; must exist (default: the current folder)")
    p.add_argument(
        "--config", help="TOML config with [connections] (default: <workdir>/migrate.toml)"
    )
    p.add_argument(
        "--mappings",
        default=str(DEFAULT_MAPPINGS),
        help="mappings folder (default: the project's mappings/)",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    p.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        help="no progress bars or tables: errors and a one-line result only",
    )
    p.add_argument(
        "--log-json",
        action="store_true",
        help="logs as JSON lines on stderr (time, level, logger, message; default: text)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = _sub(
        sub,
        "demo",
        "build the SQLite estate here and run everything end to end",
        "  migrate --workdir /tmp/demo demo --scale 2000",
    )
    d.add_argument("--scale", type=int, default=2000, help="AP invoice lines (default 2000)")
    d.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    d.set_defaults(handler=cmds.cmd_demo)

    est = sub.add_parser("estate", help="the seeded legacy estate").add_subparsers(
        dest="estate_cmd", required=True, metavar="ACTION"
    )
    b = _sub(
        est,
        "build",
        "build the three legacy systems at the configured URLs",
        "  migrate estate build --scale 500",
    )
    b.add_argument("--scale", type=int, default=2000, help="AP invoice lines (default 2000)")
    b.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    b.set_defaults(handler=cmds.cmd_estate_build)

    m = sub.add_parser("mappings", help="check the mapping files").add_subparsers(
        dest="mappings_cmd", required=True, metavar="ACTION"
    )
    c = _sub(
        m,
        "check",
        "lint every mapping against the live schemas",
        "  migrate mappings check\n  migrate mappings check --offline",
    )
    c.add_argument(
        "--offline", action="store_true", help="only parse, do not connect (default: connect)"
    )
    c.set_defaults(handler=cmds.cmd_mappings_check)
    _sub(
        m, "coverage", "legacy values not covered by crosswalks", "  migrate mappings coverage"
    ).set_defaults(handler=cmds.cmd_mappings_coverage)
    s = _sub(
        m,
        "schema",
        "write the JSON Schema of the mapping language",
        "  migrate mappings schema --output mapping.schema.json",
    )
    s.add_argument(
        "--output", default="mapping.schema.json", help="file (default mapping.schema.json)"
    )
    s.set_defaults(handler=cmds.cmd_mappings_schema)

    r = _sub(
        sub,
        "run",
        "run a migration: full, rehearsal or delta",
        "  migrate run --mode rehearsal\n  migrate run --entity suppliers+   "
        "(suppliers and what depends on them)\n  migrate run --entity +ap_invoices  "
        "(ap_invoices and what it depends on)",
        description="Run a migration. The run id is printed first: if the run stops, "
        "`migrate resume <id>` finishes it. An entity that read rows and staged none (run "
        "again in the same staging, every row a duplicate_key) gets a warning line naming "
        "why, and the command exits 1.",
    )
    r.add_argument(
        "--mode",
        choices=("full", "rehearsal", "delta"),
        default="full",
        help="full (default), rehearsal (its own staging) or delta (rows past the watermark)",
    )
    r.add_argument(
        "--entity",
        action="append",
        metavar="NAME",
        help="only this entity (repeatable; default: all). NAME+ adds what depends on it, "
        "+NAME what it depends on (dbt's selectors)",
    )
    r.add_argument("--chunk-size", type=int, default=50_000, help="rows per chunk (default 50000)")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the plan (entities in order, source rows, where each is staged) and "
        "write nothing (default: run)",
    )
    r.set_defaults(handler=cmds.cmd_run)

    rs = _sub(
        sub,
        "resume",
        "finish a run that stopped, without redoing its chunks",
        "  migrate runs            (find the id)\n  migrate resume 3f2a9c0d1e4b",
    )
    rs.add_argument("run_id", help="the run's id (migrate runs lists them)")
    rs.add_argument("--chunk-size", type=int, default=50_000, help="rows per chunk (default 50000)")
    rs.set_defaults(handler=cmds.cmd_resume)

    rb = _sub(
        sub,
        "rollback",
        "remove everything a run staged (asks first)",
        "  migrate rollback 01a24f3ad18f70009151dc6a1183634b\n"
        "  migrate rollback 3f2a9c0d1e4b --yes   (scripts; an older run's id)\n"
        "  migrate rollback 3f2a9c0d1e4b --cascade   (and the runs that refer to its keys)",
    )
    rb.add_argument("run_id", help="the run's id (migrate runs lists them)")
    rb.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask (default: ask; refused when stdin is not a terminal)",
    )
    rb.add_argument(
        "--cascade",
        action="store_true",
        help="also roll back, newest first, the runs whose rows refer to this run's ERP keys "
        "(default: such a rollback is refused, naming them)",
    )
    rb.set_defaults(handler=cmds.cmd_rollback)

    ru = _sub(
        sub,
        "runs",
        "list the runs: id, mode, state, entities done, verdict, what to do next",
        "  migrate runs\n  migrate runs --last 5",
    )
    ru.add_argument(
        "--last", type=runs_to_compare, default=20, help="newest runs shown (default 20)"
    )
    ru.set_defaults(handler=cmds.cmd_runs)

    doc = _sub(
        sub,
        "doctor",
        "check everything before the weekend: connections, the legacy role's privileges, "
        "mappings, crosswalk coverage, target definitions",
        "  migrate doctor",
        description="One screen of checks. Exit codes: 0 all good (warnings allowed), 1 a "
        f"problem to fix, {CONNECTION_FAILED} a connection cannot be used.",
    )
    doc.set_defaults(handler=cmds.cmd_doctor)

    rh = sub.add_parser(
        "rehearsals", help="compare the last runs: rejects by reason, time, forecast window"
    )
    rh.add_argument(
        "--mode",
        choices=("rehearsal", "full", "delta"),
        default="rehearsal",
        help="which runs to compare (default rehearsal)",
    )
    rh.add_argument(
        "--last", type=runs_to_compare, default=5, help="how many runs to compare (default 5)"
    )
    rh.set_defaults(handler=cmds.cmd_rehearsals)

    rc = sub.add_parser(
        "reconcile",
        help="prove totals match; write the sign-off workbook",
        description="Reconcile a run against the legacy systems and keep the evidence as its "
        "next numbered reconciliation. Exit codes: 0 PASS, 3 EXCEPTIONS (totals hold; "
        "exceptions to accept on the Sign-off sheet), 1 FAIL, 2 cannot reconcile / bad input "
        f"(unknown or rolled-back run, mappings), {CONNECTION_FAILED} cannot connect (staging or "
        "a legacy server down: not a verdict), 130 interrupted (Ctrl-C: nothing recorded).",
    )
    rc.add_argument("run_id", nargs="?", help="the run's id (default: the latest run)")
    rc.add_argument("--output", help="folder for the workbook and JSON (default: artifacts/)")
    rc.add_argument(
        "--entity",
        action="append",
        help="only this entity (repeatable; default: every entity the run staged)",
    )
    rc.set_defaults(handler=cmds.cmd_reconcile)

    cut = sub.add_parser("cutover", help="the cutover as a Prefect flow (embedded server)")
    cut.add_argument(
        "--mode",
        choices=("rehearsal", "full", "delta"),
        default="rehearsal",
        help="run mode (default rehearsal)",
    )
    cut.add_argument(
        "--dask",
        help="'local' for a local Dask cluster, or a scheduler address (default: no Dask)",
    )
    cut.add_argument(
        "--signoff",
        choices=("pause", "skip"),
        default="pause",
        help="pause for a typed sign-off (default) or skip it (unattended rehearsal)",
    )
    cut.add_argument(
        "--chunk-size", type=int, default=50_000, help="rows per chunk (default 50000)"
    )
    cut.add_argument(
        "--partitions",
        type=int,
        default=1,
        help="key-range partitions per large entity, run side by side (default 1)",
    )
    cut.add_argument("--resume", metavar="RUN_ID", help="finish a failed cutover run")
    cut.set_defaults(handler=cmds.cmd_cutover)

    comp = _sub(
        sub,
        "completion",
        "print a shell completion script",
        "  source <(migrate completion bash)\n"
        "  migrate completion bash > ~/.local/share/bash-completion/completions/migrate",
    )
    comp.add_argument("shell", choices=("bash",), help="the shell (bash)")
    comp.set_defaults(handler=cmds.cmd_completion)

    from cli.export import add_parsers as add_export_parsers
    from cli.lineage import add_parsers
    from cli.targets import add_parsers as add_target_parsers

    add_parsers(sub)
    add_target_parsers(sub)
    add_export_parsers(sub)
    return p
