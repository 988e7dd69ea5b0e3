"""The ``migrate`` commands' handlers: each takes ``(args, settings)`` and returns the exit
code (see :mod:`cli.main` for what each code means). The parser is in
:mod:`cli.parser`; what runs before every handler (probes, errors) in
:mod:`cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from migrate.config import Settings
from migrate.errors import ConfigError
from migrate.progress import TerminalProgress


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
    from migrate.validate.lint import check_mappings

    problems = check_mappings(settings, Path(args.mappings), live=not args.offline)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)" if problems else "mappings OK")
    return 1 if problems else 0


def cmd_mappings_coverage(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.validate.lint import crosswalk_coverage

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
    from migrate.runs.runner import count_source_rows
    from migrate.spec.loader import load_project

    project = load_project(mappings, entities)
    return TerminalProgress(totals=count_source_rows(settings, project))


def _print_summary(summary: object, quiet: bool = False) -> int:
    """The run's figures on stdout, then one warning line on stderr per entity that read
    rows and staged none; the exit code: 1 when there is such a line (the work failed, even
    if the run is complete: a run that staged nothing must not look like a success)."""
    from migrate.runs.runner import RunSummary

    assert isinstance(summary, RunSummary)
    _print_figures(summary, quiet)
    sys.stdout.flush()  # the figures first, then what is wrong with them
    for line in summary.staged_none:
        print(line, file=sys.stderr)
    return 1 if summary.staged_none else 0


def _print_figures(summary: object, quiet: bool) -> None:
    from migrate.runs.runner import RunSummary

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
    from migrate.runs import records as runs
    from migrate.runs import runner
    from migrate.spec.loader import load_project
    from migrate.spec.selection import select_entities

    entities = None
    if args.entity:
        entities = select_entities(load_project(Path(args.mappings)), args.entity)
    if args.dry_run:
        from migrate.runs.plan import plan_run

        print(plan_run(settings, Path(args.mappings), args.mode, entities))
        return 0
    progress = None if args.quiet else _progress(settings, Path(args.mappings), entities)
    run_id = runs.new_run_id()  # sorts by start (issue 21)
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
    return _print_summary(summary, args.quiet)


def _stopped_note(settings: Settings, run_id: str) -> str:
    from migrate.runs.locate import locate_run

    try:
        locate_run(settings, run_id)
    except Exception:  # noqa: BLE001 - the run record was never written
        return f"run {run_id} had not started; nothing staged"
    return f"run {run_id} stopped; finish it with: migrate resume {run_id}"


def cmd_resume(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runs.runner import resume_run

    progress = None if args.quiet else _progress(settings, Path(args.mappings), None)
    summary = resume_run(settings, Path(args.mappings), args.run_id, args.chunk_size, progress)
    return _print_summary(summary, args.quiet)  # the runner counts the whole run


def cmd_rollback(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runs.locate import locate_run
    from migrate.runs.rollback import cascade_plan, rollback_cascade, rollback_run

    info = locate_run(settings, args.run_id).info
    if info.status == "rolled_back":
        print(f"run {args.run_id} was already rolled back ({info.ended_at:%Y-%m-%d %H:%M} UTC); "
              "nothing to remove")  # fmt: skip
        return 0
    mappings = Path(args.mappings)  # its lookups, for runs that did not record theirs
    order = cascade_plan(settings, args.run_id, mappings) if args.cascade else [args.run_id]
    others = [r for r in order if r != args.run_id]
    also = f", and first the runs that depend on it: {', '.join(others)}" if others else ""
    question = f"remove everything {info.mode} run {args.run_id} ({info.status}) staged{also}?"
    if not args.yes and not _confirmed(question):
        return 2
    if args.cascade:
        done = rollback_cascade(settings, args.run_id, mappings)
    else:
        done = [(args.run_id, rollback_run(settings, args.run_id, mappings))]
    for run_id, removed in done:
        _print_removed(run_id, removed)
    return 0


def _print_removed(run_id: str, removed: dict[str, int]) -> None:
    total = sum(n for t, n in removed.items() if not t.startswith("restored "))
    back = sum(n for t, n in removed.items() if t.startswith("restored "))
    print(f"rolled back run {run_id}: {total:,} rows removed", end="")
    print(f", {back:,} rows it had replaced restored" if back else "")
    for table, n in sorted(removed.items()):
        print(f"  {table:<45}{n:>10,}")


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
    from cli.guard import no_run_yet
    from migrate.runs.listing import format_runs, list_runs

    lines = [] if no_run_yet(settings) else list_runs(settings)
    print(format_runs(lines[: args.last]) if lines else "no run yet (start one: migrate run)")
    return 0


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from cli.doctor import examine, render

    findings = examine(settings, Path(args.mappings))
    print(render(findings))
    return max((f.code for f in findings), default=0)


def cmd_rehearsals(args: argparse.Namespace, settings: Settings) -> int:
    from migrate.runs.history import report
    from migrate.spec.graph import dependencies
    from migrate.spec.loader import load_project

    deps = dependencies(load_project(Path(args.mappings)))
    print(report(settings, deps, args.mode, args.last))
    return 0


def cmd_reconcile(args: argparse.Namespace, settings: Settings) -> int:
    from reconcile.run import reconcile_command

    code: int = reconcile_command(
        settings, Path(args.mappings), args.run_id, args.output, args.entity, quiet=args.quiet
    )
    return code


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from cli.demo import run_demo

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
        quiet=args.quiet,
        debug=args.debug,
    )
    return code


def cmd_completion(args: argparse.Namespace, _settings: Settings) -> int:
    from cli.completion import bash_script
    from cli.parser import build_parser

    sys.stdout.write(bash_script(build_parser()))
    return 0
