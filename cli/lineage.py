"""``migrate lineage trace`` and ``migrate audit verify|signoff|history``: the auditor's commands.

The main parser calls :func:`add_parsers`; handlers take ``(args, settings)`` and return the
exit code like every other command (0 fine, 1 the check failed, 2 bad input).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from migrate.audit import log as audit
from migrate.config import Settings
from migrate.signoff.decision import record_decision


def cmd_lineage_trace(args: argparse.Namespace, settings: Settings) -> int:
    """Print where a staged row came from (or, with --reverse, where a legacy row went)."""
    from migrate.lineage.render import to_json, to_text
    from migrate.lineage.trace import trace

    mappings = getattr(args, "mappings", None)
    result = trace(
        settings,
        args.table,
        args.key,
        reverse=args.reverse,
        system=args.system,
        mappings=Path(mappings) if mappings else None,
    )
    print(to_json(result) if args.json else to_text(result))
    return 0 if (result.staged or result.outcomes) else 1


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    """OK with the entry count and head hash, or each problem (by line and seq) and exit 1.

    A log without entries is never "intact": a ``--log`` that does not exist is bad input
    (exit 2); an empty one, or a missing or empty default log while staging records runs,
    fails (exit 1); with no runs anywhere there is simply no log yet (exit 0)."""
    named = getattr(args, "log", None)
    path = Path(named) if named else audit.log_path(settings)
    if named:
        audit.require_log(path)
    result = audit.verify(path, settings)  # with its MACs and checkpoints (audit_verify.py)
    if not result.entries:
        failed, message = audit.no_entries(path, audit.recorded_runs(settings), bool(named))
        print(f"FAILED: {message}" if failed else message)
        return 1 if failed else 0
    for note in result.notes:
        print(f"note: {note}")
    if result.ok:
        print(f"OK: {result.entries} entries, chain intact; head {result.head}")
        return 0
    for problem in result.problems:
        print(f"{path}: {problem}")
    if all(p.message.startswith("not verified:") for p in result.problems):
        print(f"NOT VERIFIED: {result.entries} entries; set the key the log was written with")
        return 1
    print(f"FAILED: {len(result.problems)} problem(s) in {result.entries} entries")
    return 1


def cmd_audit_signoff(args: argparse.Namespace, settings: Settings) -> int:
    """Record who approved or rejected a reconciliation of a run (for sign-offs made outside
    Prefect), by the same rule as the cutover's sign-off (:mod:`migrate.signoff.decision`).

    Exit 1 when an approval is recorded but does not approve the run (NOT APPROVED, with
    why), so a script that goes on after this command does not go on; 0 otherwise."""
    done = record_decision(
        settings, args.run_id, args.approver, args.decision, args.comment, args.reconciliation
    )
    print(f"sign-off recorded: run {done.run_id} {done.decision} by {done.approver}")
    print(f"judged: reconciliation {done.reconciliation}, verdict {done.verdict}, "
          f"workbook sha256 {done.workbook_sha256}")  # fmt: skip
    print(f"covers {len(done.entities)} entit{'y' if len(done.entities) == 1 else 'ies'}: "
          f"{', '.join(done.entities)}")  # fmt: skip
    print(f"outcome: {done.outcome}")
    for why in done.why:
        print(f"not approved: {why}")
    if done.exceptions_accepted:
        print(
            f"the {done.exceptions_accepted} exception(s) listed on that workbook's Sign-off "
            "sheet are recorded as accepted"
        )
    if done.latest != done.reconciliation and not done.why:
        print(f"note: reconciliation {done.latest} is the run's latest, not the one signed")
    return 1 if done.decision == "approve" and not done.approved else 0


def cmd_audit_history(args: argparse.Namespace, settings: Settings) -> int:
    """Every reconciliation of a run, oldest first, with the sign-offs that judged each."""
    from migrate.signoff.decision import history

    lines = history(settings, args.run_id)
    print("\n".join(lines))
    return 0


def add_parsers(sub: Any) -> None:
    """Register ``lineage trace`` and ``audit verify|signoff`` on the main sub-parsers."""
    lin = sub.add_parser("lineage", help="row lineage: trace a row to its source and back")
    lin_sub = lin.add_subparsers(dest="lineage_cmd", required=True, metavar="ACTION")
    t = lin_sub.add_parser("trace", help="a staged row's legacy source(s), rules, run, sign-off")
    t.add_argument("table", help="staging table (or legacy table with --reverse)")
    t.add_argument("key", help="key values joined with '|' (target key or MIG_SOURCE_KEY)")
    t.add_argument("--reverse", action="store_true", help="start from a legacy table and key")
    t.add_argument("--system", help="legacy system (finance, hr, procurement)")
    t.add_argument("--json", action="store_true", help="print JSON instead of text")
    t.set_defaults(handler=cmd_lineage_trace)

    au = sub.add_parser("audit", help="the hash-chained audit log")
    au_sub = au.add_subparsers(dest="audit_cmd", required=True, metavar="ACTION")
    v = au_sub.add_parser("verify", help="check every entry's hash and link")
    v.add_argument("--log", help="audit log file (default: artifacts/audit.log)")
    v.set_defaults(handler=cmd_audit_verify)
    s = au_sub.add_parser(
        "signoff",
        help="record a sign-off decision for a run",
        description="Record an approval or rejection of one reconciliation of a run. Only "
        "the run's latest reconciliation, covering every entity the run staged, with a PASS "
        "or EXCEPTIONS verdict, approves the run; any other approval is recorded as NOT "
        "APPROVED, with why. Exit codes: 0 recorded, 1 recorded but NOT APPROVED, 2 refused "
        "(unknown run, run not complete, not reconciled; nothing written).",
    )
    s.add_argument("run_id")
    s.add_argument("--approver", required=True, help="who decides (the name put on record)")
    s.add_argument(
        "--decision",
        required=True,
        choices=("approve", "reject", "approved", "rejected"),
        help="approve or reject the reconciliation",
    )
    s.add_argument("--comment", default="", help="why, as recorded (default: none)")
    s.add_argument(
        "--reconciliation",
        type=int,
        metavar="N",
        help="the reconciliation signed (its number; default: the run's latest)",
    )
    s.set_defaults(handler=cmd_audit_signoff)
    h = au_sub.add_parser("history", help="a run's reconciliations and the sign-offs of each")
    h.add_argument("run_id")
    h.set_defaults(handler=cmd_audit_history)
