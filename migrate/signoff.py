"""A sign-off decision on a reconciled run: one rule, whether it is typed into the paused
Prefect cutover or given on the command line (``migrate audit signoff``).

The decision goes to the hash-chained audit log (``signoff_recorded``) and onto the run:
``MIG_RUNS.VERDICT`` becomes ``PASS APPROVED``, ``PASS NOT APPROVED`` or ``FAIL NOT
APPROVED``. The reconciliation's verdict is the gate and the approver confirms it: an
approval of a FAIL is recorded as given but does not approve the run. A run that does not
exist, was rolled back or has not been reconciled is refused (nothing is written), so the
tamper-evident log never holds a sign-off for a run id mistyped or a workbook never made.
``STATUS`` stays ``complete``: the runner finds the next delta's watermarks by it.
"""

from __future__ import annotations

from dataclasses import dataclass

from migrate import audit, runs
from migrate.config import Settings
from migrate.db import writable_engine
from migrate.errors import RunStateError
from migrate.staging.tables import build_metadata
from migrate.targets import has_staging, staging_target

DECISIONS = {"approve": "approve", "approved": "approve", "reject": "reject", "rejected": "reject"}


@dataclass(frozen=True)
class SignOffRecord:
    run_id: str
    approver: str
    decision: str  # approve | reject
    comment: str
    approved: bool
    verdict: str  # as marked on the run: "PASS APPROVED", ...


def record_decision(
    settings: Settings, run_id: str, approver: str, decision: str, comment: str = ""
) -> SignOffRecord:
    """Check the run, write the decision to the audit log, mark the run."""
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
            reconciled = (info.verdict or "").split(" ")[0]
            if info.status == "rolled_back":
                raise RunStateError(f"run {run_id} was rolled back: there is nothing to sign off")
            if reconciled not in ("PASS", "FAIL"):
                raise RunStateError(
                    f"run {run_id} has not been reconciled: run 'migrate reconcile {run_id}' "
                    "and sign the workbook it writes"
                )
            approved = wanted == "approve" and reconciled == "PASS"
            marked = f"{reconciled} {'APPROVED' if approved else 'NOT APPROVED'}"
            audit.record_signoff(settings, run_id, approver, wanted, comment)
            runs.set_run(engine, md, run_id, VERDICT=marked)
        finally:
            engine.dispose()
        return SignOffRecord(run_id, approver, wanted, comment, approved, marked)
    raise RunStateError(f"unknown run id {run_id!r}")
