"""A sign-off decision on one reconciliation of a run: one rule, whether it is typed into the
paused Prefect cutover or given on the command line (``migrate audit signoff``).

A sign-off names the reconciliation it judges (default: the run's latest; see
:mod:`migrate.reconciliations`) and records that reconciliation's number, verdict and
workbook SHA-256 beside the decision, in ``MIG_SIGNOFFS`` and in the hash-chained audit log
(``signoff_recorded``). The verdict itself is never rewritten: a decision is kept apart from
it, and a later reconciliation cannot turn a signed verdict into another.

The outcome follows the verdict the approver judged:

- PASS approved: ``APPROVED``;
- EXCEPTIONS approved: ``APPROVED, EXCEPTIONS ACCEPTED`` (each exception listed on that
  workbook's Sign-off sheet is accepted; their number is recorded);
- FAIL approved: recorded as given, outcome ``NOT APPROVED``;
- rejected: ``REJECTED``.

A run that does not exist, was rolled back or has not been reconciled is refused (nothing is
written), so the tamper-evident log never holds a sign-off for a run id mistyped or a
workbook never made. ``MIG_RUNS.STATUS`` stays ``complete``: the runner finds the next
delta's watermarks by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate import audit, reconciliations, runs
from migrate.config import Settings
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.reconciliations import Reconciled, SignOff
from migrate.staging.tables import build_metadata
from migrate.targets import has_staging, staging_target

DECISIONS = {"approve": "approve", "approved": "approve", "reject": "reject", "rejected": "reject"}
APPROVED, WITH_EXCEPTIONS = "APPROVED", "APPROVED, EXCEPTIONS ACCEPTED"
NOT_APPROVED, REJECTED = "NOT APPROVED", "REJECTED"


@dataclass(frozen=True)
class SignOffRecord:
    run_id: str
    approver: str
    decision: str  # approve | reject
    comment: str
    approved: bool
    verdict: str  # the judged reconciliation's verdict, as it was: "PASS", "EXCEPTIONS", ...
    reconciliation: int = 0  # its number
    workbook_sha256: str = ""
    outcome: str = ""  # APPROVED | APPROVED, EXCEPTIONS ACCEPTED | NOT APPROVED | REJECTED
    exceptions_accepted: int = 0
    latest: int = 0  # the run's latest reconciliation when this one was signed
    entities: tuple[str, ...] = ()  # what that reconciliation covered (``--entity`` narrows it)

    @property
    def marked(self) -> str:
        """One line: which reconciliation, its verdict and the outcome."""
        return f"reconciliation {self.reconciliation} ({self.verdict}): {self.outcome}"


def outcome(decision: str, verdict: str) -> str:
    if decision != "approve":
        return REJECTED
    return {"PASS": APPROVED, "EXCEPTIONS": WITH_EXCEPTIONS}.get(verdict, NOT_APPROVED)


def record_decision(
    settings: Settings,
    run_id: str,
    approver: str,
    decision: str,
    comment: str = "",
    reconciliation: int | None = None,
) -> SignOffRecord:
    """Check the run and the reconciliation named (default: the latest), write the decision
    to ``MIG_SIGNOFFS`` and the audit log, and return what was recorded."""
    wanted = DECISIONS.get(decision.strip().lower())
    if wanted is None:
        raise RunStateError(f"decision {decision!r}: say approve or reject")
    if not approver.strip():
        raise RunStateError("a sign-off needs the approver's name")
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        if not has_staging(url, schema):
            continue
        engine, md = writable_engine(url), build_metadata(schema)
        try:
            try:
                info = runs.get_run(engine, md, run_id)
            except RunStateError:
                continue
            if info.status == "rolled_back":
                raise RunStateError(f"run {run_id} was rolled back: there is nothing to sign off")
            found = reconciliations.history(engine, md, run_id)
            judged = reconciliations.pick(found, run_id, reconciliation)
            done = _decided(run_id, approver, wanted, comment, judged, found[-1].number)
            reconciliations.ensure_tables(engine, md)
            with engine.begin() as conn:  # the row goes only if the audit entry does too
                reconciliations.add_signoff(conn, md, _row(done))
                audit.record_signoff(
                    settings, run_id, approver, wanted, comment, judged=_judged(done)
                )
        finally:
            engine.dispose()
        return done
    raise RunStateError(f"unknown run id {run_id!r}")


def _decided(
    run_id: str, approver: str, decision: str, comment: str, judged: Reconciled, latest: int
) -> SignOffRecord:
    result = outcome(decision, judged.verdict)
    accepted = judged.exceptions if result == WITH_EXCEPTIONS else 0
    return SignOffRecord(
        run_id, approver, decision, comment, result in (APPROVED, WITH_EXCEPTIONS),
        judged.verdict, judged.number, judged.workbook_sha256, result, accepted, latest,
        judged.entities,
    )  # fmt: skip


def _row(done: SignOffRecord) -> SignOff:
    return SignOff(
        done.run_id, done.reconciliation, done.workbook_sha256, done.verdict, done.approver,
        done.decision, done.outcome, done.exceptions_accepted, done.comment, "",
    )  # fmt: skip


def _judged(done: SignOffRecord) -> dict[str, object]:
    """What the audit entry says was judged, beside who decided what."""
    out: dict[str, object] = {
        "reconciliation": done.reconciliation,
        "workbook_sha256": done.workbook_sha256,
        "verdict": done.verdict,
        "outcome": done.outcome,
        "entities": list(done.entities),
    }
    if done.outcome == WITH_EXCEPTIONS:
        out["exceptions_accepted"] = done.exceptions_accepted
    if done.latest != done.reconciliation:
        out["latest_reconciliation"] = done.latest
    return out


def history(settings: Settings, run_id: str) -> list[str]:
    """A run's reconciliations, oldest first, each with its files' fingerprint and the
    sign-offs that judged it, as lines for the terminal."""
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        if not has_staging(url, schema):
            continue
        engine, md = writable_engine(url), build_metadata(schema)
        try:
            try:
                runs.get_run(engine, md, run_id)
            except RunStateError:
                continue
            found = reconciliations.history(engine, md, run_id)
            signed = reconciliations.signoffs(engine, md, run_id)
        finally:
            engine.dispose()
        return _history_lines(run_id, found, signed)
    raise RunStateError(f"unknown run id {run_id!r}")


def _history_lines(run_id: str, found: list[Reconciled], signed: list[SignOff]) -> list[str]:
    if not found:
        return [f"run {run_id}: not reconciled yet (migrate reconcile {run_id})"]
    lines = [f"run {run_id}: {len(found)} reconciliation(s), oldest first"]
    for rec in found:
        extra = f", {rec.exceptions} exception(s) to accept" if rec.exceptions else ""
        lines.append(f"  {rec.number}  {rec.reconciled_at}  {rec.verdict}{extra}")
        names = ", ".join(rec.entities[:6]) + (", ..." if len(rec.entities) > 6 else "")
        lines.append(f"     covers   {len(rec.entities)} entities: {names}")
        lines.append(f"     workbook {rec.workbook_path}")
        lines.append(f"     sha256   {rec.workbook_sha256}")
        mine = [s for s in signed if s.reconciliation == rec.number]
        for s in mine:
            lines.append(f"     signed {s.signed_at} by {s.approver}: {s.decision} -> {s.outcome}")
        if not mine:
            lines.append("     not signed")
    return lines
