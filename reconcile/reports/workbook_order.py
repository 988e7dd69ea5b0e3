"""The order a controller reads in: what fails first, then what needs acceptance, then what
passes; within a level, the most money at stake first. Every sheet that lists entities
(Summary, the totals sheets, Sign-off) uses this one order."""

from __future__ import annotations

from decimal import Decimal

from reconcile.report import EXCEPTIONS, FAIL, PASS, EntityReconciliation, Reconciliation


def severity_order(report: Reconciliation) -> list[EntityReconciliation]:
    """Entities most serious first: FAIL, then EXCEPTIONS, then PASS; within a level the
    most money at stake first (amount differences for a failure, rejected amounts for
    exceptions), then the order reconciled."""

    def stake(e: EntityReconciliation) -> Decimal:
        gaps = sum((abs(m.difference) for m in e.measures), Decimal(0))
        rejected = sum((abs(v) for g in e.rejects for _, v in g.amounts), Decimal(0))
        return gaps if e.status == FAIL else rejected

    levels = (FAIL, EXCEPTIONS, PASS)
    return sorted(report.entities, key=lambda e: (levels.index(e.status), -stake(e)))


__all__ = ["severity_order"]
