"""The human sign-off: the typed input the paused cutover waits for.

What a decision writes, and the rule (approving EXCEPTIONS accepts each listed exception; an
approval of a FAIL, of a reconciliation that is no longer the run's latest, or of one that
does not cover every entity the run staged does not approve the run:
:mod:`migrate.signoff.approval`),
live in :mod:`migrate.signoff.decision`, shared with ``migrate audit signoff``. The cutover's
sign-off
judges the reconciliation the flow just made, named by its number.
"""

from __future__ import annotations

import logging
from typing import Literal

from prefect.input import RunInput
from pydantic import Field

from flows import console, steps
from migrate.signoff.decision import record_decision

log = logging.getLogger("flows.signoff")


class SignOff(RunInput):
    """What the approver types into the Prefect UI to resume the paused cutover."""

    approver: str = Field(min_length=1, description="Your name, as it goes into the audit log")
    decision: Literal["approve", "reject"] = Field(description="approve or reject the run")
    comment: str = Field(default="", description="Why; shown in the audit log")


def prompt(
    run_id: str, verdict: str, workbook: str, number: int | None = None, sha256: str = ""
) -> str:
    """Markdown shown above the form in the UI: which reconciliation, what approving means."""
    which = f"reconciliation {number} of " if number else ""
    meaning = {
        "PASS": "Approving signs that every legacy row and cent is accounted for.",
        "EXCEPTIONS": "The totals hold, but the workbook's Sign-off sheet lists exceptions: "
        "approving records that finance accepted each of them.",
    }.get(verdict, "Approving a FAIL is recorded but leaves the run not approved.")
    fingerprint = f" (SHA-256 `{sha256}`)" if sha256 else ""
    return (
        f"**Sign-off for {which}run `{run_id}`**\n\nReconciliation verdict: **{verdict}**. "
        f"Workbook: `{workbook}`{fingerprint}.\n\n{meaning}"
    )


def record(
    workdir: str,
    run_id: str,
    verdict: str,
    approver: str,
    decision: str,
    comment: str = "",
    config: str | None = None,
    number: int | None = None,
) -> dict[str, object]:
    """Record the decision on reconciliation ``number`` (default: the run's latest) in
    ``MIG_SIGNOFFS`` and the audit log (:mod:`migrate.signoff.decision`, the rule ``migrate audit
    signoff`` follows too); returns what was recorded, with ``why`` an approval does not
    approve the run when it does not. ``verdict`` is the one the form showed; the
    reconciliation's own recorded verdict decides."""
    settings = steps.settings_for(workdir, config)
    with console.whole():  # Ctrl-C on ``migrate cutover``: recorded whole, or not at all
        done = record_decision(settings, run_id, approver, decision, comment, number)
    if done.verdict != verdict:
        log.warning("run %s: the form showed %s, the run records %s", run_id, verdict, done.verdict)
    for why in done.why:
        log.warning("run %s: %s: %s", run_id, done.outcome, why)
    return {
        "approver": done.approver,
        "decision": done.decision,
        "comment": done.comment,
        "approved": done.approved,
        "verdict": done.verdict,
        "reconciliation": done.reconciliation,
        "workbook_sha256": done.workbook_sha256,
        "outcome": done.outcome,
        "why": list(done.why),
        "exceptions_accepted": done.exceptions_accepted,
        "audit": "migrate.audit.log",
    }
