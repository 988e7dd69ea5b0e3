"""Whether an approval approves the run: the rules a sign-off applies before its outcome.

An approval is finance saying "this run is whole and right", so the reconciliation it names
must prove the whole run as it stands now. Three things make it prove less than that, and
each is said in words beside the decision (``MIG_SIGNOFFS.WHY``, the audit log):

- **it is not the run's latest reconciliation**: a later one (after a fix, or after
  staging was changed) says what the run is now; an earlier PASS signed after a later FAIL
  would approve what is no longer true. The decision is recorded as given, NOT APPROVED,
  naming the latest: refusing it would lose the record that someone tried;
- **it does not cover every entity the run staged**: one made with ``reconcile --entity``
  proves those entities only. The run's entities are the names it staged chunks under
  (``MIG_PROGRESS``, as the pipeline wrote them, not as today's mapping folder says), and
  its mapping files (``MIG_RUNS.MAPPING_HASHES``) count the entities whose source was empty;
- **its verdict is FAIL**.

A run that is not ``complete`` (``running``, ``failed``, ``rolled_back``) has nothing
whole to sign: it is refused before anything is written (:func:`refuse_unfinished`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from migrate.errors import RunStateError
from migrate.signoff.reconciliations import Reconciled

APPROVABLE = ("PASS", "EXCEPTIONS")
SHOWN = 8  # entity names listed in a reason before "and N more"

_UNFINISHED = {
    "running": "it has not finished, so what it staged is not whole; wait for it to "
    "complete, reconcile it, then sign",
    "failed": "it stopped before finishing, so what it staged is not whole; finish it "
    "(migrate resume {run}), reconcile it, then sign",
    "rolled_back": "everything it staged was removed: there is nothing to sign off",
}


@dataclass(frozen=True)
class RunScope:
    """What a run claims: the entities it staged chunks for and the mapping files it was
    started with (one per entity, an empty source included)."""

    entities: tuple[str, ...]
    mappings: tuple[str, ...]


def refuse_unfinished(run_id: str, status: str) -> None:
    """Only a complete run can be signed; one line saying why not, and what to do."""
    if status == "complete":
        return
    why = _UNFINISHED.get(status, "only a complete run can be signed")
    raise RunStateError(f"run {run_id} is {status}: {why.format(run=run_id)}")


def withheld(judged: Reconciled, latest: Reconciled, scope: RunScope) -> tuple[str, ...]:
    """Why approving ``judged`` does not approve the run (empty: it does)."""
    out = []
    if judged.verdict not in APPROVABLE:
        out.append(f"its verdict is {judged.verdict}: a failing reconciliation approves nothing")
    if judged.number != latest.number:
        out.append(
            f"reconciliation {latest.number} ({latest.verdict}) is the run's latest: only "
            "the latest reconciliation can approve the run; sign that one, or reconcile again"
        )
    if lacking := uncovered(judged, scope):
        out.append(lacking)
    return tuple(out)


def uncovered(judged: Reconciled, scope: RunScope) -> str:
    """What of the run the reconciliation does not cover, in words ("" when it covers all)."""
    missing = sorted(set(scope.entities) - set(judged.entities))
    if missing:
        return (
            f"it lacks {names(missing)} (the run staged {names(sorted(scope.entities))}): "
            "reconcile the whole run (without --entity) and sign that reconciliation"
        )
    if len(set(judged.entities)) < len(scope.mappings):
        return (
            f"it covers {len(set(judged.entities))} of the {len(scope.mappings)} mapping "
            "files the run was started with: reconcile the whole run (without --entity) "
            "and sign that reconciliation"
        )
    return ""


def names(items: Sequence[str]) -> str:
    """Entity names for a sentence, the first few of a long list."""
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")
