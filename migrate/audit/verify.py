"""``audit verify`` beyond the chain: every entry's MAC, and every checkpoint of the head.

The chain (:func:`migrate.audit.log.verify_chain`) finds an edit, a deletion, an insertion, a
reorder or a replay inside the log. What it cannot find is found here:

* with the key (``MIGRATE_AUDIT_KEY`` / ``_FILE``), an entry without a valid MAC: an entry
  appended, an entry edited and re-hashed (the last one too), a chain recomputed;
* against the checkpoints in staging (``MIG_AUDIT_ANCHORS``) and in the reconciliation
  JSONs and workbooks beside the log, a log shorter than a checkpoint says (truncated) or
  whose entry N no longer hashes to the head recorded for it (rewritten); with the key, a
  checkpoint whose own MAC is wrong (forged);
* a run that staging records but the log never mentions (its entries removed).

Each problem names the checkpoint that disagrees and where it was found.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from migrate.audit import anchors as audit_anchors
from migrate.audit import key as audit_key
from migrate.audit.anchors import Anchor
from migrate.audit.key import AuditKey
from migrate.audit.log import Problem, VerifyResult, read_entries
from migrate.config import Settings

_COLLAPSE = 3  # more problems of one kind than this are said once, with the count


def anchored(path: Path, settings: Settings, chain: VerifyResult) -> VerifyResult:
    """``chain`` with the MAC, checkpoint and run problems added, and notes on coverage."""
    key = audit_key.load(path)
    entries = list(read_entries(path))
    problems = list(chain.problems)
    notes: list[str] = []
    problems += mac_problems(entries, key)
    keyed = [(line, e) for line, e in entries if e.get("mac")]
    if key is None and keyed:
        problems += unkeyed_problems(entries, keyed)
    elif key is None:
        notes.append(
            f"entry MACs not checked: no key ({audit_key.ENV_KEY} or {audit_key.ENV_KEY_FILE}"
            " unset); an entry appended after the newest checkpoint cannot be detected"
        )
    staged, runs = audit_anchors.in_staging(settings)
    filed, unanchored = audit_anchors.in_files(path.parent)
    anchors = staged + filed
    for anchor in anchors:
        problems += anchor_problems(anchor, entries, key)
    problems += missing_runs(runs, entries)
    notes += _coverage(anchors, unanchored, entries, key)
    return replace(chain, problems=problems, notes=notes)


def mac_problems(entries: list[tuple[int, dict[str, Any]]], key: AuditKey | None) -> list[Problem]:
    """With a key, every entry must carry this key's MAC over its hash."""
    if key is None:
        return []
    found: dict[str, list[Problem]] = {}
    for line, entry in entries:
        message = _mac_problem(entry, key)
        if message:
            seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
            found.setdefault(message, []).append(Problem(line, seq, message))
    out = [p for group in found.values() for p in _collapsed(group)]
    return sorted(out, key=lambda p: p.line)


def unkeyed_problems(
    entries: list[tuple[int, dict[str, Any]]], keyed: list[tuple[int, dict[str, Any]]]
) -> list[Problem]:
    """Without the key, on a log whose entries carry MACs: an entry without a MAC after the
    first with one was added by someone without the key (a problem whatever the key), and
    the MACs themselves cannot be checked, so what they guard is "not verified", never OK."""
    first = keyed[0][0]
    found: dict[str, list[Problem]] = {}
    for line, entry in entries:
        if line > first and not entry.get("mac"):
            message = (
                "no MAC, after entries with MACs: added by someone without the key, "
                "or by a run that lost it"
            )
            seq = entry.get("seq") if isinstance(entry.get("seq"), int) else None
            found.setdefault(message, []).append(Problem(line, seq, message))
    out = [p for group in found.values() for p in _collapsed(group)]
    ids = sorted({str(e.get("key_id")) for _, e in keyed})
    seq = keyed[0][1].get("seq") if isinstance(keyed[0][1].get("seq"), int) else None
    out.append(
        Problem(
            first,
            seq,
            f"not verified: {len(keyed)} entries carry MACs (key id {', '.join(ids)}) and no "
            f"key is set ({audit_key.ENV_KEY} or {audit_key.ENV_KEY_FILE}): an entry edited "
            "and re-hashed, or appended, and a forged checkpoint cannot be told from a true "
            "one without it",
        )
    )
    return sorted(out, key=lambda p: p.line)


def _collapsed(group: list[Problem]) -> list[Problem]:
    """More problems of one kind than ``_COLLAPSE``, said once with the count."""
    if len(group) <= _COLLAPSE:
        return group
    first, last = group[0], group[-1]
    more = f" (and {len(group) - 1} more entries, through line {last.line})"
    return [Problem(first.line, first.seq, first.message + more)]


def _mac_problem(entry: dict[str, Any], key: AuditKey) -> str:
    mac, key_id = entry.get("mac"), entry.get("key_id")
    if not mac:
        return "no MAC: written without the key, or added by someone who has not got it"
    if key_id != key.key_id:
        return f"MAC made with another key (key id {key_id}, this key's is {key.key_id})"
    if not audit_key.same(mac, audit_key.entry_mac(key, str(entry.get("hash")))):
        return "MAC does not match: edited and re-hashed by someone without the key"
    return ""


def anchor_problems(
    anchor: Anchor, entries: list[tuple[int, dict[str, Any]]], key: AuditKey | None
) -> list[Problem]:
    """What a checkpoint says that the log contradicts, located at the entry it names."""
    cp, where = anchor.checkpoint, anchor.where
    out: list[Problem] = []
    if key is not None:
        wrong = _checkpoint_mac_problem(anchor, key)
        if wrong:
            line = entries[cp.entries - 1][0] if 0 < cp.entries <= len(entries) else 0
            out.append(Problem(line, cp.entries, wrong))
    if cp.entries > len(entries):
        last = entries[-1][0] if entries else 0
        out.append(
            Problem(
                last,
                None,
                f"checkpoint in {where} says the log held {cp.entries} entries, it holds "
                f"{len(entries)}: entries were cut off the end, or the log was replaced",
            )
        )
        return out
    if cp.entries < 1:
        return [*out, Problem(0, None, f"checkpoint in {where} is not a checkpoint")]
    line, entry = entries[cp.entries - 1]
    if entry.get("hash") != cp.head:
        out.append(
            Problem(
                line,
                cp.entries,
                f"checkpoint in {where} recorded head {cp.head[:16]}... for entry "
                f"{cp.entries}; it now hashes {str(entry.get('hash'))[:16]}...: "
                "the log was rewritten up to here",
            )
        )
    return out


def _checkpoint_mac_problem(anchor: Anchor, key: AuditKey) -> str:
    cp = anchor.checkpoint
    if not cp.mac:
        return f"checkpoint in {anchor.where} has no MAC: made without the key, or forged"
    if cp.key_id != key.key_id:
        return f"checkpoint in {anchor.where} was made with another key (key id {cp.key_id})"
    if not audit_key.same(cp.mac, audit_key.checkpoint_mac(key, cp.entries, cp.head)):
        return f"checkpoint in {anchor.where}: MAC does not match, the checkpoint was forged"
    return ""


def missing_runs(runs: dict[str, str], entries: list[tuple[int, dict[str, Any]]]) -> list[Problem]:
    """A run staging records that no entry mentions: its entries were removed."""
    named = {_run_of(e) for _, e in entries}
    last = entries[-1][0] if entries else 0
    return [
        Problem(last, None, f"run {run} is recorded in {where} but the log has no entry of it")
        for run, where in sorted(runs.items())
        if run not in named
    ]


def _run_of(entry: dict[str, Any]) -> Any:
    payload = entry.get("payload")
    return payload.get("run_id") if isinstance(payload, dict) else None


def _coverage(
    anchors: list[Anchor],
    unanchored: list[str],
    entries: list[tuple[int, dict[str, Any]]],
    key: AuditKey | None,
) -> list[str]:
    notes = [f"{len(anchors)} checkpoint(s) checked"]
    newest = max((a.checkpoint.entries for a in anchors), default=0)
    after = len(entries) - newest
    if after > 0:
        maced = sum(1 for _, e in entries[newest:] if e.get("mac"))
        tail = f"{after} entries after the newest checkpoint"
        if key is not None and maced:
            notes.append(f"{tail}: {maced} guarded by their MACs")
        if key is None and maced:
            notes.append(f"{tail}: {maced} carry MACs, not verified (no key)")
        if after - maced:
            bare = f"{after - maced} carry no MAC"
            why = "" if key is not None else ", and no key"
            notes.append(f"{tail}: {bare}, guarded by nothing{why}")
    if unanchored:
        notes.append(f"{len(unanchored)} reconciliation file(s) carry no checkpoint")
    return notes
