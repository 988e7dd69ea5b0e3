"""The origin of a column that holds an ERP key: a ``lookup``, or the key an entity issues.

Such a value is in no legacy row: the pipeline numbered it and recorded each pair in
staging's ``MIG_KEY_MAP`` (``reconcile/proving/erpkeys.py``). Reconciliation restates the *legacy*
key from the legacy row itself, as the pipeline builds it (the key columns' texts without
surrounding whitespace, ``|``-joined: ``reconcile.reading.sources.key_string``), and takes the ERP
key recorded for it (domain, the lookup's ``system`` or the entity's own, legacy key). The
staged value must be that key, so a reference pointing at another issued key (which the ERP
rule "every reference resolves" cannot see) is a difference, and so is an issued key changed
after the run. A blank legacy key is no value (the pipeline's "no reference"); a key the map
has no entry for is refused (``orphan_reference``: the pipeline rejects such a row, so a
staged one shows as a difference).

An ``issues_keys`` column is restated as if the mapping said
``lookup: {domain: <its domain>, from: <its legacy columns>}``: the key issued to this row's
legacy key in its own system. A merged row (``merged_into_existing_record``) is not staged;
``reconcile/proving/filtered.py`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from migrate.spec.model import EntitySpec, Field_
from reconcile.proving import restate_steps as R
from reconcile.reading.sources import key_string

# (domain, system, legacy key) -> the ERP key recorded for it, or None
KeyLookup = Callable[[str, str, str], int | None]
Wanted = tuple[str, str, str]  # (domain, system, legacy key)


def issued_field(spec: EntitySpec) -> Field_ | None:
    """The entity's issued key as the lookup that restates it (None: it issues no keys)."""
    ik = spec.issues_keys
    if ik is None:
        return None
    return Field_.model_validate({"lookup": {"domain": ik.domain, "from": ik.legacy}})


def wanted(f: Field_, system: str, record: Mapping[str, object]) -> Wanted | None:
    """The key map entry this row's lookup asks for (None: no lookup, or a blank key)."""
    if f.lookup is None:
        return None
    legacy = key_string([record.get(c) for c in f.lookup.from_])
    return None if legacy == "" else (f.lookup.domain, f.lookup.system or system, legacy)


def lookup_origin(
    f: Field_, system: str, record: Mapping[str, object], keys: KeyLookup | None
) -> object:
    """The ERP key this row's reference must hold (``Unreadable`` when none is recorded)."""
    asked = wanted(f, system, record)
    if asked is None:
        return None
    if keys is None:
        raise R.Unreadable("no key map to look the key up in", asked[2])
    found = keys(*asked)
    if found is None:
        raise R.Unreadable("orphan_reference", asked[2])
    return found


def lookup_text(f: Field_, system: str, issued: bool) -> str:
    """The origin as the report states it."""
    assert f.lookup is not None
    what = "the ERP key issued to" if issued else "the ERP key"
    return (
        f"{what} {'|'.join(f.lookup.from_)} in MIG_KEY_MAP (domain {f.lookup.domain}, "
        f"system {f.lookup.system or system})"
    )
