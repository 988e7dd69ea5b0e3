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
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from migrate.config import Settings, load_settings
from migrate.errors import ConfigError, ConnectionFailed, MigrationError, SpecErrors, TerminalError
from migrate.history import runs_to_compare
from migrate.progress import TerminalProgress

DEFAULT_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
CONNECTION_FAILED = 4  # a connection cannot be used: apart from FAIL (1) and bad input (2)
INTERRUPTED = 130
Handler = Callable[[argparse.Namespace, Settings], int]


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings(
        Path(args.workdir) if args.workdir else None, Path(args.config) if args.config else None
    )


def cmd_estate_build(args: argparse.Namespace, settings: Settings) -> int:
    from fixtures.estate.build import build_estate

    urls = {s: settings.url(s) for s in ("finance", "hr", "procurement")}
    manifest = build_estate(
        urls,
        settings.workdir / "extracts",
        scale=args.scale,
        seed=args.seed,
        manifest_path=settings.workdir / "estate_manifest.json",
    )
    total = sum(n for t in manifest.row_counts.values() for n in t.values())
    print(
        f"estate built: {total:,} rows, {len(manifest.defects):,} planted defects "
        f"(manifest: {settings.workdir / 'estate_manifest.json'})"
    )
    return 0


def cmd_mappings_check(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.lint import check_mappings

    problems = check_mappings(settings, Path(args.mappings), live=not args.offline)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "mappings OK")
    return 1 if problems else 0


def cmd_mappings_coverage(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.lint import crosswalk_coverage

    gaps = crosswalk_coverage(settings, Path(args.mappings))
    for (crosswalk, entity, column), values in sorted(gaps.items()):
        shown = ", ".join(repr(v) for v in values[:20])
        more = f" (+{len(values) - 20} more)" if len(values) > 20 else ""
        print(f"{crosswalk}: {entity}.{column}: {len(values)} uncovered: {shown}{more}")
    if not gaps:
        print("every legacy value in the live sources is covered by its crosswalk")
    return 1 if gaps else 0


def cmd_mappings_schema(args: argparse.Namespace, _settings: Settings) -> int:
    from migrate.spec.jsonschema import write_json_schema

    path = write_json_schema(Path(args.output))
    print(f"wrote {path}")
    return 0


def _progress(settings: Settings, mappings: Path, entities: list[str] | None) -> TerminalProgress:
    from migrate.runner import count_source_rows
    from migrate.spec.loader import load_project

    project = load_project(mappings, entities)
    return TerminalProgress(totals=count_source_rows(settings, project))


def _print_summary(summary: object, quiet: bool = False) -> None:
    from migrate.runner import RunSummary

    assert isinstance(summary, RunSummary)
    if quiet:
        t = summary.totals
        print(
            f"run {summary.run_id} ({summary.mode}) complete: {t['rows_in']:,} in, "
            f"{t['loaded']:,} loaded, {t['rejected']:,} rejected, {t['filtered']:,} filtered"
        )
        return
    print(f"\nrun {summary.run_id} ({summary.mode}) complete")
    print(f"{'entity':<28}{'source':>10}{'loaded':>10}{'rejected':>10}{'filtered':>10}  secs")
    for e in summary.entities:
        print(
            f"{e.entity:<28}{e.rows_in:>10,}{e.loaded:>10,}{e.rejected:>10,}{e.filtered:>10,}"
            f"  {e.seconds:.1f}"
        )
    t = summary.totals
    print(
        f"{'total':<28}{t['rows_in']:>10,}{t['loaded']:>10,}{t['rejected']:>10,}"
        f"{t['filtered']:>10,}"
    )


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    import uuid

    from migrate import runner
    from migrate.selection import select_entities
    from migrate.spec.loader import load_project

    entities = None
    if args.entity:
        entities = select_entities(load_project(Path(args.mappings)), args.entity)
    progress = None if args.quiet else _progress(settings, Path(args.mappings), entities)
    run_id = uuid.uuid4().hex[:12]
    if not args.quiet:  # first, so a crash still leaves the id to resume
        print(f"run {run_id} ({args.mode}) starting; if it stops: migrate resume {run_id}")
    try:
        summary = runner.run_migration(
            settings,
            Path(args.mappings),
            mode=args.mode,
            entities=entities,
            chunk_size=args.chunk_size,
            progress=progress,
            run_id=run_id,
        )
    except KeyboardInterrupt as stop:
        stop.add_note(_stopped_note(settings, run_id))
        raise
    _print_summary(summary, args.quiet)
    return 0


def _stopped_note(settings: Settings, run_id: str) -> str:
    from migrate.targets import locate_run

    try:
        locate_run(settings, run_id)
    except Exception:  # noqa: BLE001 - the run record was never written
        return f"run {run_id} had not started; nothing staged"
    return f"run {run_id} stopped; finish it with: migrate resume {run_id}"


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runner import resume_run

    progress = None if args.quiet else _progress(settings, Path(args.mappings), None)
    summary = resume_run(settings, Path(args.mappings), args.run_id, args.chunk_size, progress)
    _print_summary(summary, args.quiet)
    print(_whole_run(settings, args.run_id))
    return 0


def _whole_run(settings: Settings, run_id: str) -> str:
    """The run's totals over every attempt: a resume's own summary counts only its part."""
    from migrate import runs
    from migrate.db import writable_engine
    from migrate.targets import locate_run

    found = locate_run(settings, run_id)
    engine = writable_engine(found.url)
    try:
        per_entity = runs.entity_totals(engine, found.md, run_id)
    finally:
        engine.dispose()
    t = {k: sum(e[k] for e in per_entity.values()) for k in ("rows_in", "loaded", "rejected")}
    f = sum(e["filtered"] for e in per_entity.values())
    return (
        f"whole run {run_id} (every attempt): {len(per_entity)} entities, {t['rows_in']:,} in, "
        f"{t['loaded']:,} loaded, {t['rejected']:,} rejected, {f:,} filtered"
    )


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runner import rollback_run
    from migrate.targets import locate_run

    info = locate_run(settings, args.run_id).info
    if info.status == "rolled_back":
        print(f"run {args.run_id} was already rolled back ({info.ended_at:%Y-%m-%d %H:%M} UTC); "
              "nothing to remove")  # fmt: skip
        return 0
    if not args.yes and not _confirmed(f"remove everything {info.mode} run {args.run_id} "
                                       f"({info.status}) staged?"):  # fmt: skip
        return 2
    removed = rollback_run(settings, args.run_id)
    total = sum(n for t, n in removed.items() if not t.startswith("restored "))
    back = sum(n for t, n in removed.items() if t.startswith("restored "))
    print(f"rolled back run {args.run_id}: {total:,} rows removed", end="")
    print(f", {back:,} rows it had replaced restored" if back else "")
    for table, n in sorted(removed.items()):
        print(f"  {table:<45}{n:>10,}")
    return 0


def _confirmed(question: str) -> bool:
    """Ask on a terminal; refuse (one line, exit 2) when nobody can answer."""
    if not sys.stdin.isatty():
        raise ConfigError(f"{question} Add --yes to confirm (stdin is not a terminal)")
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        print("not rolled back", file=sys.stderr)
        return False
    return True


def cmd_runs(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.guard import no_run_yet
    from migrate.runlist import format_runs, list_runs

    lines = [] if no_run_yet(settings) else list_runs(settings)
    print(format_runs(lines[: args.last]) if lines else "no run yet (start one: migrate run)")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.doctor import examine, render

    findings = examine(settings, Path(args.mappings))
    print(render(findings))
    return max((f.code for f in findings), default=0)


def cmd_rehearsals(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.history import report
    from migrate.spec.graph import dependencies
    from migrate.spec.loader import load_project

    deps = dependencies(load_project(Path(args.mappings)))
    print(report(settings, deps, args.mode, args.last))
    return 0


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from reconcile.run import reconcile_command

    code: int = reconcile_command(
        settings, Path(args.mappings), args.run_id, args.output, args.entity
    )
    return code


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.demo import run_demo

    return run_demo(settings, Path(args.mappings), scale=args.scale, seed=args.seed)


def cmd_cutover(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from flows.cli import run_cutover_cli
    except ImportError as exc:  # Prefect is an optional extra: pip install -e ".[flows]"
        print(
            f"error: the cutover needs Prefect ({exc}); pip install 'erp-migrate[flows]'",
            file=sys.stderr,
        )
        return 2
    code: int = run_cutover_cli(
        settings,
        Path(args.mappings),
        args.mode,
        args.dask,
        args.signoff,
        args.chunk_size,
        partitions=args.partitions,
        resume_run_id=args.resume,
    )
    return code


EXIT_CODES = (
    "Exit codes: 0 PASS or success, 3 EXCEPTIONS (reconcile: the totals hold, exceptions to "
    "accept before signing), 1 FAIL or the checked work failed (mapping problems, an approval "
    "that does not approve), 2 cannot reconcile or bad input (config, unknown run id), "
    f"{CONNECTION_FAILED} cannot connect (a server down, a database or legacy file missing, a "
    f"login refused, a read-only staging: never a verdict), {INTERRUPTED} interrupted (Ctrl-C)."
)
FORMAT = argparse.RawDescriptionHelpFormatter


def _sub(sub: Any, name: str, help: str, examples: str, description: str = "") -> Any:
    """A sub-command whose help ends with examples a user can copy."""
    return sub.add_parser(
        name,
        help=help,
        description=description or help,
        epilog="examples:\n" + examples,
        formatter_class=FORMAT,
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="migrate",
        description="Migrate legacy finance, HR and procurement data into ERP staging, and "
        "prove it. " + EXIT_CODES,
        epilog="examples:\n  migrate --workdir /tmp/demo demo\n  migrate doctor\n"
        "  migrate run --mode rehearsal\n  migrate runs\n  migrate reconcile",
        formatter_class=FORMAT,
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
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = _sub(
        sub,
        "demo",
        "build the SQLite estate here and run everything end to end",
        "  migrate --workdir /tmp/demo demo --scale 2000",
    )
    d.add_argument("--scale", type=int, default=2000, help="AP invoice lines (default 2000)")
    d.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    d.set_defaults(handler=cmd_demo)

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
    b.set_defaults(handler=cmd_estate_build)

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
    c.set_defaults(handler=cmd_mappings_check)
    _sub(
        m, "coverage", "legacy values not covered by crosswalks", "  migrate mappings coverage"
    ).set_defaults(handler=cmd_mappings_coverage)
    s = _sub(
        m,
        "schema",
        "write the JSON Schema of the mapping language",
        "  migrate mappings schema --output mapping.schema.json",
    )
    s.add_argument(
        "--output", default="mapping.schema.json", help="file (default mapping.schema.json)"
    )
    s.set_defaults(handler=cmd_mappings_schema)

    r = _sub(
        sub,
        "run",
        "run a migration: full, rehearsal or delta",
        "  migrate run --mode rehearsal\n  migrate run --entity suppliers+   "
        "(suppliers and what depends on them)\n  migrate run --entity +ap_invoices  "
        "(ap_invoices and what it depends on)",
        description="Run a migration. The run id is printed first: if the run stops, "
        "`migrate resume <id>` finishes it.",
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
    r.set_defaults(handler=cmd_run)

    rs = _sub(
        sub,
        "resume",
        "finish a run that stopped, without redoing its chunks",
        "  migrate runs            (find the id)\n  migrate resume 3f2a9c0d1e4b",
    )
    rs.add_argument("run_id", help="the run's id (migrate runs lists them)")
    rs.add_argument("--chunk-size", type=int, default=50_000, help="rows per chunk (default 50000)")
    rs.set_defaults(handler=cmd_resume)

    rb = _sub(
        sub,
        "rollback",
        "remove everything a run staged (asks first)",
        "  migrate rollback 3f2a9c0d1e4b\n  migrate rollback 3f2a9c0d1e4b --yes   (scripts)",
    )
    rb.add_argument("run_id", help="the run's id (migrate runs lists them)")
    rb.add_argument(
        "--yes",
        "-y",
        action="store_true",
        help="do not ask (default: ask; refused when stdin is not a terminal)",
    )
    rb.set_defaults(handler=cmd_rollback)

    ru = _sub(
        sub,
        "runs",
        "list the runs: id, mode, state, entities done, verdict, what to do next",
        "  migrate runs\n  migrate runs --last 5",
    )
    ru.add_argument(
        "--last", type=runs_to_compare, default=20, help="newest runs shown (default 20)"
    )
    ru.set_defaults(handler=cmd_runs)

    doc = _sub(
        sub,
        "doctor",
        "check everything before the weekend: connections, the legacy role's privileges, "
        "mappings, crosswalk coverage, target definitions",
        "  migrate doctor",
        description="One screen of checks. Exit codes: 0 all good (warnings allowed), 1 a "
        f"problem to fix, {CONNECTION_FAILED} a connection cannot be used.",
    )
    doc.set_defaults(handler=cmd_doctor)

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
    rh.set_defaults(handler=cmd_rehearsals)

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
    rc.set_defaults(handler=cmd_reconcile)

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
    cut.set_defaults(handler=cmd_cutover)

    from migrate.lineage.cli import add_parsers
    from migrate.targets.cli import add_parsers as add_target_parsers

    add_parsers(sub)
    add_target_parsers(sub)
    return p


def _systems(args: argparse.Namespace) -> set[str]:
    """The legacy systems the mappings read through a connection (not from files)."""
    from migrate.guard import NEEDS, command_name
    from migrate.spec.loader import load_project

    if not NEEDS.get(command_name(args), ("", False))[1]:
        return set()
    try:
        project = load_project(Path(args.mappings))
    except SpecErrors:
        return set()  # the command reports the mapping errors itself
    return {e.spec.source.system for e in project.entities.values() if e.spec.source.file is None}


def main(argv: list[str] | None = None) -> int:
    from migrate.guard import check_before, require_workdir
    from migrate.reach import connection_cause

    args = build_parser().parse_args(argv)
    quiet = getattr(args, "quiet", False)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.ERROR if quiet else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        require_workdir(args)
        settings = _settings(args)
        check_before(args, settings, _systems(args))
        handler: Handler = args.handler
        return handler(args, settings)
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


def one_line(exc: BaseException) -> str:
    """The error and its notes (how to resume a stopped run) on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    notes = [" ".join(str(n).split()) for n in getattr(exc, "__notes__", [])]
    return "; ".join([text, *notes])


if __name__ == "__main__":
    sys.exit(main())
