"""The ``migrate`` command line. ``migrate --help`` lists what exists.

Every command exits 0 on success, 1 when the work it checked failed (a reconciliation FAIL,
mapping problems), 3 for a reconciliation with EXCEPTIONS to accept, 2 on bad input (config,
unknown run id, a run stopped by an error), 130 when stopped with Ctrl-C (one line,
``interrupted``); every error prints as one line (a stopped run's says how to resume it),
without a traceback unless ``--debug`` is given.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from migrate.config import Settings, load_settings
from migrate.errors import MigrationError, SpecErrors, TerminalError
from migrate.history import runs_to_compare
from migrate.progress import TerminalProgress

DEFAULT_MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
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


def _print_summary(summary: object) -> None:
    from migrate.runner import RunSummary

    assert isinstance(summary, RunSummary)
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
    from migrate.runner import run_migration

    entities = args.entity or None
    progress = _progress(settings, Path(args.mappings), entities)
    summary = run_migration(
        settings, Path(args.mappings), args.mode, entities, args.chunk_size, progress
    )
    _print_summary(summary)
    return 0


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runner import resume_run

    progress = _progress(settings, Path(args.mappings), None)
    summary = resume_run(settings, Path(args.mappings), args.run_id, args.chunk_size, progress)
    _print_summary(summary)
    return 0


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runner import rollback_run

    removed = rollback_run(settings, args.run_id)
    total = sum(n for t, n in removed.items() if not t.startswith("restored "))
    back = sum(n for t, n in removed.items() if t.startswith("restored "))
    print(f"rolled back run {args.run_id}: {total:,} rows removed", end="")
    print(f", {back:,} rows it had replaced restored" if back else "")
    for table, n in sorted(removed.items()):
        print(f"  {table:<45}{n:>10,}")
    return 0


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="migrate",
        description="Migrate legacy finance, HR and procurement data into ERP staging, and "
        "prove it. Exit codes: 0 PASS or success, 3 EXCEPTIONS (reconcile: the totals hold, "
        "exceptions to accept before signing), 1 FAIL or the checked work failed (mapping "
        "problems, an approval that does not approve), 2 cannot reconcile or bad input "
        "(config, unknown run id), 130 interrupted (Ctrl-C).",
    )
    p.add_argument("--workdir", help="working folder (default: current folder)")
    p.add_argument("--config", help="TOML config with [connections] (default: ./migrate.toml)")
    p.add_argument("--mappings", default=str(DEFAULT_MAPPINGS), help="mappings folder")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    d = sub.add_parser("demo", help="build the SQLite estate here and run everything end to end")
    d.add_argument("--scale", type=int, default=2000, help="AP invoice lines (default 2000)")
    d.add_argument("--seed", type=int, default=42)
    d.set_defaults(handler=cmd_demo)

    est = sub.add_parser("estate", help="the seeded legacy estate").add_subparsers(
        dest="estate_cmd", required=True, metavar="ACTION"
    )
    b = est.add_parser("build", help="build the three legacy systems at the configured URLs")
    b.add_argument("--scale", type=int, default=2000, help="AP invoice lines")
    b.add_argument("--seed", type=int, default=42)
    b.set_defaults(handler=cmd_estate_build)

    m = sub.add_parser("mappings", help="check the mapping files").add_subparsers(
        dest="mappings_cmd", required=True, metavar="ACTION"
    )
    c = m.add_parser("check", help="lint every mapping against the live schemas")
    c.add_argument("--offline", action="store_true", help="only parse, do not connect")
    c.set_defaults(handler=cmd_mappings_check)
    m.add_parser("coverage", help="legacy values not covered by crosswalks").set_defaults(
        handler=cmd_mappings_coverage
    )
    s = m.add_parser("schema", help="write the JSON Schema of the mapping language")
    s.add_argument("--output", default="mapping.schema.json")
    s.set_defaults(handler=cmd_mappings_schema)

    r = sub.add_parser("run", help="run a migration: full, rehearsal or delta")
    r.add_argument("--mode", choices=("full", "rehearsal", "delta"), default="full")
    r.add_argument("--entity", action="append", help="only this entity (repeatable)")
    r.add_argument("--chunk-size", type=int, default=50_000)
    r.set_defaults(handler=cmd_run)

    rs = sub.add_parser("resume", help="finish a run that stopped, without redoing its chunks")
    rs.add_argument("run_id")
    rs.add_argument("--chunk-size", type=int, default=50_000)
    rs.set_defaults(handler=cmd_resume)

    rb = sub.add_parser("rollback", help="remove everything a run staged")
    rb.add_argument("run_id")
    rb.set_defaults(handler=cmd_rollback)

    rh = sub.add_parser(
        "rehearsals", help="compare the last runs: rejects by reason, time, forecast window"
    )
    rh.add_argument("--mode", choices=("rehearsal", "full", "delta"), default="rehearsal")
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
        "(unknown or rolled-back run, mappings), 130 interrupted (Ctrl-C: nothing recorded).",
    )
    rc.add_argument("run_id", nargs="?", help="default: the latest run")
    rc.add_argument("--output", help="folder for the workbook and JSON (default: artifacts/)")
    rc.add_argument(
        "--entity",
        action="append",
        help="only this entity (repeatable; default: every entity the run staged)",
    )
    rc.set_defaults(handler=cmd_reconcile)

    cut = sub.add_parser("cutover", help="the cutover as a Prefect flow (embedded server)")
    cut.add_argument("--mode", choices=("rehearsal", "full", "delta"), default="rehearsal")
    cut.add_argument("--dask", help="'local' for a local Dask cluster, or a scheduler address")
    cut.add_argument(
        "--signoff",
        choices=("pause", "skip"),
        default="pause",
        help="pause for a typed sign-off (default) or skip it (unattended rehearsal)",
    )
    cut.add_argument("--chunk-size", type=int, default=50_000)
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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        settings = _settings(args)
        handler: Handler = args.handler
        return handler(args, settings)
    except SpecErrors as exc:
        for err in exc.errors:
            print(err, file=sys.stderr)
        print(f"{len(exc.errors)} mapping error(s)", file=sys.stderr)
        return 2
    except (TerminalError, MigrationError) as exc:
        if args.debug:
            raise
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:  # a defect or an input nobody foresaw: one line, not a traceback
        if args.debug:
            raise
        print(
            f"error: {type(exc).__name__}: {one_line(exc)} (--debug shows where)", file=sys.stderr
        )
        return 2
    except KeyboardInterrupt:  # Ctrl-C: one line, no traceback, the shell's code for SIGINT
        if args.debug:
            raise
        print("interrupted", file=sys.stderr)
        return 130


def one_line(exc: BaseException) -> str:
    """The error and its notes (how to resume a stopped run) on one line."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    notes = [" ".join(str(n).split()) for n in getattr(exc, "__notes__", [])]
    return "; ".join([text, *notes])


if __name__ == "__main__":
    sys.exit(main())
