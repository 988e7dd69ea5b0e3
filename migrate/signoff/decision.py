"""A sign-off decision on one reconciliation of a run: one rule, whether it is typed into the
paused Prefect cutover or given on the command line (``migrate audit signoff``).

A sign-off names the reconciliation it judges (default: the run's latest; see
:mod:`migrate.signoff.reconciliations`) and records that reconciliation's number, verdict and
workbook SHA-256 beside the decision, in ``MIG_SIGNOFFS`` and in the hash-chained audit log
(``signoff_recorded``). The verdict itself is never rewritten: a decision is kept apart from
it, and a later reconciliation cannot turn a signed verdict into another.

The outcome follows the verdict the approver judged, and whether that reconciliation proves
the whole run as it stands (:mod:`migrate.signoff.approval`):

- PASS approved: ``APPROVED``;
- EXCEPTIONS approved: ``APPROVED, EXCEPTIONS ACCEPTED`` (each exception listed on that
  workbook's Sign-off sheet is accepted; their number is recorded);
- FAIL approved, or approving a reconciliation that is not the run's latest or does not
  cover every entity the run staged: recorded as given, outcome ``NOT APPROVED``, with why
  (``MIG_SIGNOFFS.WHY`` and the audit entry's ``not_approved_because``);
- rejected: ``REJECTED``.

A run that does not exist, is not complete (running, failed, rolled back) or has not been
reconciled is refused (nothing is written), so the tamper-evident log never holds a sign-off
for a run id mistyped, a run half staged or a workbook never made. ``MIG_RUNS.STATUS`` stays
``complete``: the runner finds the next delta's watermarks by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate.audit import log as audit
from migrate.config import Settings
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.runs import records as runs
from migrate.runs.locate import has_staging, locate_run, staging_target
from migrate.signoff import reconciliations
from migrate.signoff.approval import RunScope, names, refuse_unfinished, withheld
from migrate.signoff.reconciliations import Reconciled, SignOff
from migrate.staging.tables import build_metadata

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
    why: tuple[str, ...] = ()  # why an approval does not approve the run (empty when it does)

    @property
    def marked(self) -> str:
        """One line: which reconciliation, its verdict and the outcome."""
        return f"reconciliation {self.reconciliation} ({self.verdict}): {self.outcome}"


def outcome(decision: str, verdict: str, why: tuple[str, ...] = ()) -> str:
    """REJECTED for a reject; for an approval, NOT APPROVED when there is a reason it does not
    approve the run (``why``, from :func:`migrate.signoff.approval.withheld`), else by the
    verdict."""
    if decision != "approve":
        return REJECTED
    if why:
        return NOT_APPROVED
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
            refuse_unfinished(run_id, info.status)
            found = reconciliations.history(engine, md, run_id)
            judged = reconciliations.pick(found, run_id, reconciliation)
            scope = RunScope(
                reconciliations.staged_entities(engine, md, run_id), tuple(info.mapping_hashes)
            )
            done = _decided(run_id, approver, wanted, comment, judged, found[-1], scope)
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
    run_id: str,
    approver: str,
    decision: str,
    comment: str,
    judged: Reconciled,
    latest: Reconciled,
    scope: RunScope,
) -> SignOffRecord:
    why = withheld(judged, latest, scope) if decision == "approve" else ()
    result = outcome(decision, judged.verdict, why)
    accepted = judged.exceptions if result == WITH_EXCEPTIONS else 0
    return SignOffRecord(
        run_id, approver, decision, comment, result in (APPROVED, WITH_EXCEPTIONS),
        judged.verdict, judged.number, judged.workbook_sha256, result, accepted, latest.number,
        judged.entities, why,
    )  # fmt: skip


def _row(done: SignOffRecord) -> SignOff:
    return SignOff(
        done.run_id, done.reconciliation, done.workbook_sha256, done.verdict, done.approver,
        done.decision, done.outcome, done.exceptions_accepted, done.comment, "",
        "\n".join(done.why),
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
    if done.why:
        out["not_approved_because"] = list(done.why)
    if done.latest != done.reconciliation:
        out["latest_reconciliation"] = done.latest
    return out


def history(settings: Settings, run_id: str) -> list[str]:
    """A run's reconciliations, oldest first, each with its files' fingerprint, what of the
    run it covers and the sign-offs that judged it, as lines for the terminal."""
    run = locate_run(settings, run_id)  # the staging that holds it (unknown id: an error)
    engine = writable_engine(run.url)
    try:
        found = reconciliations.history(engine, run.md, run_id)
        signed = reconciliations.signoffs(engine, run.md, run_id)
        staged = reconciliations.staged_entities(engine, run.md, run_id)
    finally:
        engine.dispose()
    return history_lines(run_id, found, signed, RunScope(staged, tuple(run.info.mapping_hashes)))


def history_lines(
    run_id: str, found: list[Reconciled], signed: list[SignOff], scope: RunScope
) -> list[str]:
    if not found:
        return [f"run {run_id}: not reconciled yet (migrate reconcile {run_id})"]
    lines = [f"run {run_id}: {len(found)} reconciliation(s), oldest first"]
    for rec in found:
        lines.append(f"  {rec.number}  {rec.reconciled_at}  {verdict_line(rec)}")
        lines.append(f"     covers   {_covers(rec, scope)}")
        lines.append(f"     workbook {rec.workbook_path}")
        lines.append(f"     sha256   {rec.workbook_sha256}")
        mine = [s for s in signed if s.reconciliation == rec.number]
        for s in mine:
            lines.append(f"     signed {s.signed_at} by {s.approver}: {s.decision} -> {s.outcome}")
            lines += [f"       not approved: {why}" for why in s.why.splitlines() if why]
        if not mine:
            lines.append("     not signed")
    return lines


def verdict_line(rec: Reconciled) -> str:
    """The verdict and what it asks: exceptions are accepted only of an EXCEPTIONS verdict
    (a FAIL is not signed at all, whatever else it lists)."""
    if rec.verdict == "EXCEPTIONS":
        return f"EXCEPTIONS, {rec.exceptions} exception(s) to accept"
    return "FAIL: do not sign" if rec.verdict == "FAIL" else rec.verdict


def _covers(rec: Reconciled, scope: RunScope) -> str:
    n = len(rec.entities)
    text = f"{n} entit{'y' if n == 1 else 'ies'}: {names(rec.entities)}"
    missing = sorted(set(scope.entities) - set(rec.entities))
    if missing:
        return f"{text}; lacks {names(missing)}, so it cannot approve the run"
    if n < len(scope.mappings):
        return f"{text}; of the run's {len(scope.mappings)}, so it cannot approve the run"
    return text
