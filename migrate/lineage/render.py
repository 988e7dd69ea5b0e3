"""A trace as text an auditor reads top to bottom, or as JSON for tools.

Values arrive already masked from :mod:`migrate.lineage.trace`; rendering adds nothing that
was not in the trace, so the text and the JSON can never disagree.
"""

from __future__ import annotations

import dataclasses
import json

from migrate.lineage.trace import Trace


def to_json(t: Trace) -> str:
    data = dataclasses.asdict(t)
    for entity, rules in data["rules"].items():
        for rule, obj in zip(rules, t.rules[entity], strict=True):
            rule["description"] = obj.description
    return json.dumps(data, indent=2, default=str, sort_keys=False)


def to_text(t: Trace) -> str:
    lines = [f"{t.direction} trace of {t.table} {t.key}", ""]
    for s in t.staged:
        lines.append(f"STAGED ROW  {s.table} (entity {s.entity}, run {s.run_id})")
        lines.append(f"  source: {s.source_system} key {s.source_key}, row hash {s.source_hash}")
        lines += [f"  {k:<28}{v}" for k, v in s.values.items()]
    for src in t.sources:
        lines.append(f"LEGACY RECORD  {src.system}.{src.table} key {src.key}  (via {src.via})")
        if src.row is None:
            lines.append("  (no longer in the legacy system)")
        else:
            lines += [f"  {k:<28}{v}" for k, v in src.row.items()]
    for o in t.outcomes:
        lines.append(f"OUTCOME  {o.entity}: {o.kind.upper()} in run {o.run_id}  {o.detail}")
    for entity, rules in t.rules.items():
        lines.append(f"RULES  {entity}")
        lines += [f"  {r.column:<28}{r.kind:<12}{r.description}" for r in rules]
    for r in t.runs:
        lines.append(
            f"RUN  {r.run_id}  {r.mode} {r.status}, started {r.started_at} by {r.started_by}"
        )
        for m in r.mappings.values():
            flag = "" if m["unchanged"] else "  CHANGED SINCE THIS RUN"
            lines.append(f"  mapping {m['file']} sha256 {m['sha256_used']}{flag}")
        lines.append(
            f"  reconciliation: {r.verdict or '(not recorded)'}, workbook sha256 "
            f"{r.workbook_sha256 or '(not recorded)'}"
        )
        lines += [
            f"  audit #{e['seq']} {e['time']} {e['kind']} {_short(e['payload'])}" for e in r.audit
        ]
    lines += [f"WARNING  {w}" for w in t.warnings]
    return "\n".join(lines)


def _short(payload: object) -> str:
    """An audit payload on one line: the per-entity and per-file detail (in the audit log)
    summarised by its size, so an entry never reads as empty when it is not."""
    if not isinstance(payload, dict):
        return str(payload)
    keep: dict[str, object] = {}
    for k, v in payload.items():
        if k == "run_id":
            continue
        if k in ("entities", "mappings") and isinstance(v, dict | list):
            keep[k] = f"{len(v)} {'files' if k == 'mappings' else 'entities'} (in the audit log)"
        else:
            keep[k] = v
    return json.dumps(keep, default=str, sort_keys=True)
