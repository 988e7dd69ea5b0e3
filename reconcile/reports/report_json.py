"""The reconciliation report as JSON: the workbook's content for machines (CI, flows, audit).

Amounts are strings ("1234.50"), never JSON numbers, so no reader can turn them into floats.
Computed values (differences, statuses, the verdict) are written too, for readers that do not
recompute; ``from_json`` recomputes them and refuses a document whose written values disagree.

A figure that other figures determine is checked against them too, so an edit has to be made
consistently everywhere to pass, and a removed line shows: the reject groups' counts add up
to ``rejected_rows`` and their amounts, per measure, to that measure's Rejected; the filtered
rule counts add up to ``filtered_rows``; the row differences counted by kind add up to
``difference_count`` (no kind listing more than it counts); an amount's ``unreadable`` count
is 0 exactly when no unreadable row is listed, and never fewer than those listed; and the
written ``failures`` and ``exceptions`` are the ones the figures give. A grain line of an
amount with unread legacy values carries that amount's ``unreadable`` count and is
``UNVERIFIED`` unless its known figures fail (which line holds them is not known): its
status is ``GrainRow.status``, the one the workbook writes. Under a rounding
policy a measure carries ``rounding`` (rule, rows, the difference staging shows, the
rounding restated, the bound, its status): the difference and status are recomputed too.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from reconcile.report import (
    EntityReconciliation,
    GrainRow,
    MeasureIdentity,
    Reconciliation,
    RejectGroup,
    RowDifference,
    RuleResult,
    RunFacts,
)

FORMAT = "erp-migrate.reconciliation/2"  # /2: three verdict levels, unverified amounts
# ``differences`` lists the first of each kind (``difference_kinds`` counts all of them); the
# full list is the CSV named under ``differences_file``
# a legacy value read with ``surrogateescape`` keeps undecodable bytes as lone surrogates,
# which UTF-8 cannot encode: JSON writes them as \udcXX escapes, which read back exactly
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_AMOUNTS = ("source", "staged", "rejected", "filtered", "tolerance")


def to_json(report: Reconciliation, differences: dict[str, Any] | None = None) -> str:
    """The report as indented JSON text (stable key order, UTF-8 friendly); ``differences``
    names the CSV of all row differences (file name, SHA-256, rows)."""
    doc = _report(report)
    if differences is not None:
        doc["differences_file"] = differences
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    return _LONE_SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def figures_sha256(report: Reconciliation) -> str:
    """The fingerprint of a reconciliation's figures: the SHA-256 of its JSON without the
    name of the files issued with it (which carry the reconciliation's number), so the same
    figures reconciled at the same time give the same fingerprint. The workbook prints it on
    its Sign-off sheet; ``figures_sha256(from_json(text))`` recomputes it from the issued
    JSON, which is how a signed copy is tied back to its figures."""
    return hashlib.sha256(to_json(report).encode("utf-8")).hexdigest()


def write_json(
    report: Reconciliation, path: Path, differences: dict[str, Any] | None = None
) -> bytes:
    """Write :func:`to_json` to ``path`` as UTF-8 (a new file: an existing one is never
    replaced); returns the bytes written."""
    data = to_json(report, differences).encode("utf-8")
    with path.open("xb") as fh:
        fh.write(data)
    return data


def from_json(text: str) -> Reconciliation:
    """Read a report back; amounts must be strings and computed values must still agree."""
    doc = json.loads(text, parse_float=_no_float)
    if doc.get("format") != FORMAT:
        raise ValueError(f"not a reconciliation report (format {doc.get('format')!r})")
    report = Reconciliation(
        run=RunFacts(**doc["run"]),
        entities=tuple(_entity_from(e) for e in doc["entities"]),
    )
    _agree("verdict", doc["verdict"], report.verdict)
    return report


def _report(r: Reconciliation) -> dict[str, Any]:
    run = r.run
    return {
        "format": FORMAT,
        "verdict": r.verdict,
        "run": {
            "run_id": run.run_id,
            "mode": run.mode,
            "started_at": run.started_at,
            "ended_at": run.ended_at,
            "started_by": run.started_by,
            "mapping_hashes": dict(run.mapping_hashes),
            "source_identity": dict(run.source_identity),
            "staging_identity": run.staging_identity,
            "reconciled_at": run.reconciled_at,
            **({"audit_anchor": run.audit_anchor} if run.audit_anchor else {}),
        },
        "entities": [_entity(e) for e in r.entities],
    }


def _entity(e: EntityReconciliation) -> dict[str, Any]:
    return {
        "entity": e.entity,
        "status": e.status,
        "source_table": e.source_table,
        "target_table": e.target_table,
        "source_rows": e.source_rows,
        "staged_rows": e.staged_rows,
        "rejected_rows": e.rejected_rows,
        "filtered_rows": e.filtered_rows,
        "count_difference": e.count_difference,
        "filtered_by_rule": dict(e.filtered_by_rule),
        "measures": [_measure(m) for m in e.measures],
        "grains": [_grain(g) for g in e.grains],
        "differences": [_difference(d) for d in e.differences],
        "rules": [_rule(r) for r in e.rules],
        "rejects": [_reject(g) for g in e.rejects],
        "compared": list(e.compared),
        "row_diff": e.row_diff,
        "not_verified": [{"column": c, "why": why} for c, why in e.not_verified],
        "difference_count": e.differences_found,
        "difference_kinds": dict(e.difference_kinds),
        "problems": list(e.problems),
        "failures": e.failures,
        "exceptions": e.exceptions,
    }


def _amounts(item: MeasureIdentity | GrainRow) -> dict[str, str]:
    values = {name: str(getattr(item, name)) for name in _AMOUNTS}
    return {**values, "difference": str(item.difference), "status": item.status}


def _measure(m: MeasureIdentity) -> dict[str, Any]:
    head = {"measure": m.measure, "source_rule": m.source_rule, "target_column": m.target_column}
    unreadable = [{"source_key": k, "value": v} for k, v in m.unreadable_rows]
    out = {**head, **_amounts(m), "unreadable": m.unreadable, "unreadable_rows": unreadable}
    return {**out, **_rounding(m)}


def _rounding(m: MeasureIdentity) -> dict[str, Any]:
    """The rounding line (under a rounding policy only): what staging shows, what
    reconciliation restates, the bound and its status."""
    if not m.rounding_rule:
        return {}
    line = {
        "rule": m.rounding_rule,
        "rows": m.rounded_rows,
        "difference": str(m.rounding),
        "expected": str(m.rounding_expected),
        "bound": str(m.rounding_bound),
        "status": m.rounding_status,
    }
    return {"rounding": line}


def _grain(g: GrainRow) -> dict[str, Any]:
    """One grain line with ``g.status``, the status the workbook writes too; a line of an
    amount with legacy values not read carries their count (``unreadable``)."""
    head = {"grain": g.grain, "key": list(g.key), "measure": g.measure, **_amounts(g)}
    return {**head, "unreadable": g.unreadable} if g.unreadable else head


def _difference(d: RowDifference) -> dict[str, Any]:
    return {
        "entity": d.entity,
        "source_key": d.source_key,
        "kind": d.kind,
        "column": d.column,
        "source_value": d.source_value,
        "staged_value": d.staged_value,
    }


def _rule(r: RuleResult) -> dict[str, Any]:
    return {
        "entity": r.entity,
        "rule": r.rule,
        "violations": r.violations,
        "level": r.level,
        "status": r.status,
        "detail": r.detail,
    }


def _reject(g: RejectGroup) -> dict[str, Any]:
    sample: list[dict[str, Any]] = [
        {"source_key": key, "column": column, "value": value} for key, column, value in g.sample
    ]
    for line, each in zip(sample, g.sample_amounts, strict=False):
        line["amounts"] = {m: str(v) for (m, _), v in zip(g.amounts, each, strict=True)}
    amounts = {m: str(v) for m, v in g.amounts}
    head = {"entity": g.entity, "reason": g.reason, "count": g.count}
    return {**head, "amounts": amounts, "sample": sample}


def _no_float(text: str) -> Decimal:
    raise ValueError(f"amounts must be JSON strings, found the number {text}")


def _money(value: object) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f'amount {value!r} must be a string such as "1234.50"')
    try:
        return Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"amount {value!r} is not a decimal number") from exc


def _agree(what: str, written: object, computed: object, by: str = "its figures") -> None:
    """A written computed value that differs from the recomputed one means an edited file."""
    if written != computed:
        raise ValueError(f"{what}: the document says {written!r} but {by} give {computed!r}")


def _amount_fields(doc: dict[str, Any]) -> dict[str, Decimal]:
    return {name: _money(doc[name]) for name in _AMOUNTS}


def _measure_from(doc: dict[str, Any]) -> MeasureIdentity:
    a = _amount_fields(doc)
    m = MeasureIdentity(
        measure=doc["measure"],
        source_rule=doc["source_rule"],
        target_column=doc["target_column"],
        source=a["source"],
        staged=a["staged"],
        rejected=a["rejected"],
        filtered=a["filtered"],
        tolerance=a["tolerance"],
        unreadable=int(doc.get("unreadable", 0)),
        unreadable_rows=tuple(
            (r["source_key"], r["value"]) for r in doc.get("unreadable_rows", [])
        ),
    )
    if (line := doc.get("rounding")) is not None:
        m = replace(
            m,
            rounding_rule=str(line["rule"]),
            rounded_rows=int(line["rows"]),
            rounding_expected=_money(line["expected"]),
            rounding_bound=_money(line["bound"]),
        )
    if m.rounding_rule:
        line = doc["rounding"]
        _agree(f"measure {m.measure} rounding", _money(line["difference"]), m.rounding)
        _agree(f"measure {m.measure} rounding status", line["status"], m.rounding_status)
    _agree(f"measure {m.measure} difference", _money(doc["difference"]), m.difference)
    listed = len(m.unreadable_rows)
    if (m.unreadable == 0) != (listed == 0) or m.unreadable < listed:
        raise ValueError(
            f"measure {m.measure} unreadable: the document says {m.unreadable} but lists "
            f"{listed} unreadable row(s)"
        )
    _agree(f"measure {m.measure} status", doc["status"], m.status)
    return m


def _grain_from(doc: dict[str, Any]) -> GrainRow:
    """The line's figures; its status is checked by :func:`_agree_grains` once the entity
    has given it its measure's unread count."""
    a = _amount_fields(doc)
    g = GrainRow(
        doc["grain"], tuple(doc["key"]), doc["measure"],
        a["source"], a["staged"], a["rejected"], a["filtered"], a["tolerance"],
    )  # fmt: skip
    _agree(f"grain {g.key} difference", _money(doc["difference"]), g.difference)
    return g


def _agree_grains(docs: list[dict[str, Any]], e: EntityReconciliation) -> None:
    """Each written grain line's ``unreadable`` (0 when absent) is its measure's, and its
    status the one its figures give: a PASS beside an UNVERIFIED amount is refused."""
    for doc, g in zip(docs, e.grains, strict=True):
        name = f"entity {e.entity} grain {g.key} {g.measure}"
        _agree(f"{name} unreadable", int(doc.get("unreadable", 0)), g.unreadable, "its amount")
        _agree(f"{name} status", doc["status"], g.status)


def _rule_from(doc: dict[str, Any]) -> RuleResult:
    r = RuleResult(
        entity=doc["entity"],
        rule=doc["rule"],
        violations=doc["violations"],
        detail=doc["detail"],
        level=doc.get("level", "FAIL"),
    )
    _agree(f"rule {r.rule} status", doc["status"], r.status)
    return r


def _reject_from(doc: dict[str, Any]) -> RejectGroup:
    sample = tuple((s["source_key"], s["column"], s["value"]) for s in doc["sample"])
    amounts = tuple((m, _money(v)) for m, v in doc.get("amounts", {}).items())
    each = [s["amounts"] for s in doc["sample"] if "amounts" in s]
    if each and (len(each) != len(sample) or any(list(a) != [m for m, _ in amounts] for a in each)):
        raise ValueError(f"reject {doc['reason']}: sample amounts do not match the group's")
    return RejectGroup(
        entity=doc["entity"],
        reason=doc["reason"],
        count=doc["count"],
        sample=sample,
        amounts=amounts,
        sample_amounts=tuple(tuple(_money(v) for v in a.values()) for a in each),
    )


def _entity_from(doc: dict[str, Any]) -> EntityReconciliation:
    e = EntityReconciliation(
        entity=doc["entity"],
        source_table=doc["source_table"],
        target_table=doc["target_table"],
        source_rows=doc["source_rows"],
        staged_rows=doc["staged_rows"],
        rejected_rows=doc["rejected_rows"],
        filtered_rows=doc["filtered_rows"],
        filtered_by_rule=dict(doc["filtered_by_rule"]),
        measures=tuple(_measure_from(m) for m in doc["measures"]),
        grains=tuple(_grain_from(g) for g in doc["grains"]),
        differences=tuple(RowDifference(**d) for d in doc["differences"]),
        rules=tuple(_rule_from(r) for r in doc["rules"]),
        rejects=tuple(_reject_from(g) for g in doc["rejects"]),
        compared=tuple(doc.get("compared", ())),
        row_diff=str(doc.get("row_diff", "")),
        not_verified=tuple((n["column"], n["why"]) for n in doc.get("not_verified", [])),
        difference_count=int(doc.get("difference_count", -1)),
        problems=tuple(doc.get("problems", ())),
        difference_kinds=tuple((k, int(n)) for k, n in doc.get("difference_kinds", {}).items()),
    )
    _agree(f"entity {e.entity} count difference", doc["count_difference"], e.count_difference)
    _agree_parts(e)
    _agree_grains(doc["grains"], e)
    _agree(f"entity {e.entity} failures", doc.get("failures"), e.failures)
    _agree(f"entity {e.entity} exceptions", doc.get("exceptions"), e.exceptions)
    _agree(f"entity {e.entity} status", doc["status"], e.status)
    return e


def _agree_parts(e: EntityReconciliation) -> None:
    """Each total the document gives beside its parts is the sum of those parts."""
    name = f"entity {e.entity}"
    groups = "its reject groups"
    _agree(f"{name} rejected_rows", e.rejected_rows, sum(g.count for g in e.rejects), groups)
    by_rule = sum(e.filtered_by_rule.values())
    _agree(f"{name} filtered_rows", e.filtered_rows, by_rule, "its filtered rule counts")
    for m in e.measures:
        total = sum((dict(g.amounts).get(m.measure, Decimal(0)) for g in e.rejects), Decimal(0))
        _agree(f"{name} measure {m.measure} rejected", m.rejected, total, f"{groups}' amounts")
    kinds = dict(e.difference_kinds)
    if not kinds:
        _agree(f"{name} difference_count", e.differences_found, len(e.differences), "its rows")
        return
    _agree(f"{name} difference_count", e.differences_found, sum(kinds.values()), "its kinds")
    for kind, listed in Counter(d.kind for d in e.differences).items():
        if listed > kinds.get(kind, 0):
            raise ValueError(
                f"{name} difference kind {kind}: {listed} listed but {kinds.get(kind, 0)} counted"
            )
