"""The human sign-off: the typed input the paused cutover waits for, and what a decision writes.

A decision goes to the audit log (``migrate.audit.record_signoff`` when that module exists,
else ``artifacts/signoff_<run>.json``) and onto the run: ``MIG_RUNS.VERDICT`` becomes
``PASS APPROVED``, ``PASS NOT APPROVED`` or ``FAIL NOT APPROVED``. ``STATUS`` stays
``complete`` on purpose: the runner finds the next delta's watermarks by that status.
An approval of a FAIL reconciliation is recorded as given but does not approve the run:
the workbook's verdict is the gate, the approver confirms it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Literal

from prefect.input import RunInput
from pydantic import Field

from flows import steps
from migrate import runs
from migrate.config import Settings


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
    comment: str,
    config: str | None = None,
) -> dict[str, object]:
    """Write the decision to the audit log and mark the run; returns what was recorded."""
    settings = steps.settings_for(workdir, config)
    approved = decision == "approve" and verdict == "PASS"
    where = _audit(settings, run_id, approver, decision, comment)
    marked = f"{verdict} {'APPROVED' if approved else 'NOT APPROVED'}"
    info = steps.run_info(workdir, run_id, config)
    with steps.staging(settings, info.mode) as (engine, md):
        runs.set_run(engine, md, run_id, VERDICT=marked)
    return {
        "approver": approver,
        "decision": decision,
        "comment": comment,
        "approved": approved,
        "verdict": marked,
        "audit": where,
    }


def _audit(settings: Settings, run_id: str, approver: str, decision: str, comment: str) -> str:
    try:
        from migrate.audit import record_signoff  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return _audit_file(settings, run_id, approver, decision, comment)
    record_signoff(settings, run_id, approver, decision, comment)
    return "migrate.audit"


def _audit_file(settings: Settings, run_id: str, approver: str, decision: str, comment: str) -> str:
    """Fallback until the hash-chained audit log lands: one JSON list per run, appended."""
    path = settings.artifacts / f"signoff_{run_id}.json"
    entries = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    entries.append(
        {
            "run_id": run_id,
            "approver": approver,
            "decision": decision,
            "comment": comment,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )
    path.write_text(json.dumps(entries, indent=2), encoding="utf-8")
    return str(path)
