"""``migrate export`` and ``migrate export verify``: the ERP's import files, and their proof.

The main parser calls :func:`add_parsers`; handlers take ``(args, settings)`` and return the
exit code as every command does: export 0 written, 1 a value the format cannot carry
(nothing written), 2 bad input (unknown or unfinished run, a folder not empty), 4 staging
cannot be reached. ``verify`` answers as ``reconcile`` does: 0 PASS, 3 EXCEPTIONS (staged
values the format has no field for), 1 FAIL, 2 not verified (and why), 4 cannot connect.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from migrate.config import Settings
from migrate.errors import ConfigError, MigrationError

VERDICT_CODES = {"PASS": 0, "EXCEPTIONS": 3, "FAIL": 1, "NOT VERIFIED": 2}


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    """Write the files; on a value the format cannot carry, list each and write nothing."""
    from migrate.export.run import ExportFailed, export_run

    if getattr(args, "export_cmd", None) == "verify":
        return cmd_verify(args, settings)
    if not args.run or not args.out:
        raise ConfigError("migrate export needs --run RUN_ID and --out FOLDER (or: export verify)")
    quiet = getattr(args, "quiet", False)
    personal = _personal(args)  # loading the project declares its own target tables
    try:
        result = export_run(
            settings,
            args.run,
            Path(args.out),
            fmt=args.format,
            tables=args.table,
            layouts=Path(args.layouts) if args.layouts else None,
            lineage=args.lineage,
            say=None if quiet else print,
            personal=personal,
        )
    except ExportFailed as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        if exc.count > len(exc.problems):
            print(f"... and {exc.count - len(exc.problems)} more", file=sys.stderr)
        print(f"error: {exc}", file=sys.stderr)
        return 1
    files = result.manifest["files"]
    if result.manifest["staging_mode"] == "rehearsal" and not quiet:
        print(f"note: run {args.run} is a rehearsal (its own staging): files for a trial load")
    rows = sum(d["rows"] for f in files for d in f["datasets"])
    for f in files:
        for d in f["datasets"]:
            for column, kept in sorted(d["left_out"].items()):
                if kept["values"] and not quiet:
                    print(
                        f"note: {d['table']}.{column}: {kept['values']:,} value(s) the "
                        f"{args.format.upper()} layout has no field for (not exported)"
                    )
    print(
        f"export of run {args.run} ({args.format}): {len(files)} file(s), {rows:,} rows; "
        f"manifest {result.path} (sha256 {result.sha256[:12]}), recorded in the audit log"
    )
    return 0


def cmd_verify(args: argparse.Namespace, settings: Settings) -> int:
    """Read the files back on their own and compare them with staging and the manifest."""
    from reconcile.exported import verify_export

    _personal(args)  # declares the project's own target tables, so their files are read
    layouts = Path(args.layouts) if args.layouts else None
    report = verify_export(settings, Path(args.folder), layouts=layouts)
    quiet = getattr(args, "quiet", False)
    for line in report.lines():
        if not quiet or line not in report.agreed:  # --quiet: findings and the verdict
            print(line)
    return VERDICT_CODES[report.verdict]


def _personal(args: argparse.Namespace) -> dict[str, dict[str, str]]:
    """Table -> {column: kind} of personal data, from the mappings (loading them declares
    the project's own target tables); when they cannot be read, every value shown in a
    failure is masked (``*``), and a declared table is unknown (its export is refused, its
    verification NOT VERIFIED)."""
    from migrate.lineage.masking import target_personal
    from migrate.spec.loader import load_project

    try:
        project = load_project(Path(args.mappings))
    except (MigrationError, OSError):
        return {"*": {"*": "masked"}}
    return target_personal(e.spec for e in project.entities.values())


def add_parsers(sub: Any) -> None:
    """Register ``export`` (and ``export verify``) on the main sub-parsers."""
    ex = sub.add_parser(
        "export",
        help="write a run's staged rows as the ERP's import files (FBDI ZIPs or CSV)",
        description="Write a completed run's staged rows in a target's import format, with "
        "a manifest (rows, money totals, SHA-256 per file) recorded in the audit log. Exit "
        "codes: 0 written, 1 a value the format cannot carry (each named; nothing written), "
        "2 bad input, 4 cannot connect. `export verify FOLDER` proves the files against "
        "staging: 0 PASS, 3 EXCEPTIONS, 1 FAIL, 2 not verified, 4 cannot connect.",
        epilog="examples:\n  migrate export --run 3f2a9c0d1e4b --format fbdi --out fbdi/\n"
        "  migrate export --run 3f2a9c0d1e4b --format csv --out csv/ --table WORKERS\n"
        "  migrate export verify fbdi/ --layouts ~/fbdi-layouts",
        formatter_class=_examples_formatter(),
    )
    ex.add_argument("--run", metavar="RUN_ID", help="the completed run to export")
    ex.add_argument(
        "--format",
        choices=("fbdi", "csv"),
        default="fbdi",
        help="fbdi: Oracle FBDI ZIPs, no header (default); csv: one CSV per table, header",
    )
    ex.add_argument("--out", metavar="FOLDER", help="a new or empty folder for the files")
    ex.add_argument(
        "--table",
        action="append",
        metavar="TABLE",
        help="only this staging table (repeatable; fbdi: its whole import object; default: "
        "every table holding rows of the run)",
    )
    ex.add_argument(
        "--layouts",
        metavar="FOLDER",
        help="fbdi: write from the vendor's <TABLE>.columns.csv layouts in this folder (a "
        "newer layout than the pack's; default: the shipped pack, no layout file needed)",
    )
    ex.add_argument(
        "--lineage",
        action="store_true",
        help="csv: add the MIG_ lineage columns (default: left out)",
    )
    ex.set_defaults(handler=cmd_export)
    actions = ex.add_subparsers(dest="export_cmd", metavar="ACTION")
    ver = actions.add_parser(
        "verify",
        help="prove exported files against staging: PASS, EXCEPTIONS, FAIL or not verified",
        description="Read the files back with reconciliation's own code (Python csv and the "
        "vendor's layout files, never the pack), count rows and total money per file, and "
        "compare with staging and with the manifest (SHA-256, and the manifest with the audit "
        "log).",
    )
    ver.add_argument("folder", help="the folder an export wrote")
    ver.add_argument(
        "--layouts",
        metavar="FOLDER",
        help="the folder holding the vendor's FBDI layout files (default: where the export "
        "read them; an export from the pack read none, so without this its files are not "
        "verified); each must have the SHA-256 the manifest records",
    )
    ver.set_defaults(handler=cmd_export)


def _examples_formatter() -> type[argparse.HelpFormatter]:
    from cli.parser import ExamplesFormatter

    return ExamplesFormatter
