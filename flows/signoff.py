"""The human sign-off: the typed input the paused cutover waits for.

What a decision writes, and the rule (an approval of a FAIL does not approve the run), live
in :mod:`migrate.signoff`, shared with ``migrate audit signoff``.
"""

from __future__ import annotations

import logging
from typing import Literal

from prefect.input import RunInput
from pydantic import Field

from flows import steps
from migrate.signoff import record_decision

log = logging.getLogger("flows.signoff")


class SignOff(RunInput):
    """What the approver types into the Prefect UI to resume the paused cutover."""

    approver: str = Field(min_length=1, description="Your name, as it goes into the audit log")
    decision: Literal["approve", "reject"] = Field(description="approve or reject the run")
    comment: str = Field(default="", description="Why; shown in the audit log")


def prompt(run_id: str, verdict: str, workbook: str) -> str:
    """Markdown shown above the form in the UI."""
    return (
        f"**Sign-off for run `{run_id}`**\n\nReconciliation verdict: **{verdict}**. "
        f"Workbook: `{workbook}`.\n\nApproving a FAIL is recorded but leaves the run "
        "not approved."
    )


def record(
    workdir: str,
    run_id: str,
    verdict: str,
    approver: str,
    decision: str,
    comment: str = "",
    config: str | None = None,
) -> dict[str, object]:
    """Write the decision to the audit log and mark the run (:mod:`migrate.signoff`, the
    rule ``migrate audit signoff`` follows too); returns what was recorded. ``verdict`` is
    the one the form showed; the run's own recorded verdict decides."""
    settings = steps.settings_for(workdir, config)
    done = record_decision(settings, run_id, approver, decision, comment)
    if not done.verdict.startswith(verdict):
        log.warning("run %s: the form showed %s, the run records %s", run_id, verdict, done.verdict)
    return {
        "approver": done.approver,
        "decision": done.decision,
        "comment": done.comment,
        "approved": done.approved,
        "verdict": done.verdict,
        "audit": "migrate.audit",
    }
