"""What reconciliation proves, entity by entity and across entities.

``entity``        one entity's proof: the identity, grain totals, the row diff and ERP rules
``exact``, ``residue``  every amount exact, including those not whole cents
``grains``        control totals by the grains a mapping declares
``diff``          the keyed row diff by hashed key buckets; ``differences`` what it keeps
                  as evidence (the first of each kind, every one as CSV); ``bucket_hints``
                  where a differing bucket's sums point; ``both_sides`` both sides asked at once
``restated``, ``restate`` and ``restate_*``  every column a mapping fills, restated one
                  legacy value at a time by reconciliation's own reading of the mapping;
                  ``erpkeys`` the ERP keys a run issued
``filtered``, ``doubled``, ``attribution``, ``unreadable``  rows not staged, each accounted for
``variants``, ``variant_doubles``  entities with one staged row per variant
``rules``, ``warnings``  ERP import rules and warnings re-derived from the staged rows
``crossrules``, ``crosstotals``  rules and totals across entities
``claims``        what a run claims (its mappings) checked before the entities
``personal``      personal columns compared by keyed hash
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reconcile.proving.crossrules import check_cross_rules
    from reconcile.proving.crosstotals import check_totals_agree
    from reconcile.proving.diff import keyed_diff
    from reconcile.proving.differences import write_differences_csv
    from reconcile.proving.entity import reconcile_entity
    from reconcile.proving.grains import GrainTotals
    from reconcile.proving.restate import Restated
    from reconcile.proving.rules import check_rules
    from reconcile.proving.variants import reconcile_variants

__all__ = [
    "GrainTotals",
    "Restated",
    "check_cross_rules",
    "check_rules",
    "check_totals_agree",
    "keyed_diff",
    "reconcile_entity",
    "reconcile_variants",
    "write_differences_csv",
]

# each public name and the module it lives in: imported when first asked for, so that
# importing one module of the package never imports the others
_HOMES = {
    "GrainTotals": "grains",
    "Restated": "restate",
    "check_cross_rules": "crossrules",
    "check_rules": "rules",
    "check_totals_agree": "crosstotals",
    "keyed_diff": "diff",
    "reconcile_entity": "entity",
    "reconcile_variants": "variants",
    "write_differences_csv": "differences",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(f"{__name__}.{_HOMES[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
