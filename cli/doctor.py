"""``migrate doctor``: everything that would stop the cutover weekend, on one screen.

Each check gives findings: ``ok``, ``warn`` (worth knowing, does not stop a run), ``fail``
(fix it first: exit 1) or ``down`` (a connection cannot be used: exit 4). A connection
that is down is said once, and the checks that need it say they were skipped, rather than
reporting fewer problems than there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from migrate.config import LEGACY_SYSTEMS, Settings, redact
from migrate.db import readonly_engine
from migrate.errors import ConnectionFailed, SpecErrors
from migrate.reach import probe, sqlite_path
from migrate.runs.locate import staging_target

CODES = {"ok": 0, "warn": 0, "fail": 1, "down": 4}


@dataclass(frozen=True)
class Finding:
    """One line of the doctor's screen."""

    check: str
    status: str  # ok | warn | fail | down
    message: str

    @property
    def code(self) -> int:
        return CODES[self.status]


def examine(settings: Settings, mappings: Path) -> list[Finding]:
    """Run every check; a later check that needs a connection found down is skipped."""
    out: list[Finding] = []
    down: set[str] = set()
    systems = _systems(mappings)
    for name in (*sorted(systems), "staging"):
        out.append(_connection(settings, name, down))
    url, _ = staging_target(settings, "rehearsal")
    if url != settings.url("staging"):
        try:
            probe(settings, "staging", url, write=True)
            out.append(Finding("rehearsal staging", "ok", redact(url)))
        except ConnectionFailed as exc:
            out.append(Finding("rehearsal staging", "warn", f"rehearsals will fail: {exc}"))
    for name in sorted(systems - down):
        out.append(_privileges(settings, name))
    out.extend(_mappings(settings, mappings, down))
    out.extend(_targets(settings, mappings, "staging" in down))
    return out


def _systems(mappings: Path) -> set[str]:
    from migrate.spec.loader import load_project

    try:
        project = load_project(mappings)
    except SpecErrors:
        return set(LEGACY_SYSTEMS)
    return {e.spec.source.system for e in project.entities.values() if e.spec.source.file is None}


def _connection(settings: Settings, name: str, down: set[str]) -> Finding:
    try:
        probe(settings, name, write=name == "staging")
    except ConnectionFailed as exc:
        down.add(name)
        return Finding(f"connection {name}", "down", str(exc))
    return Finding(f"connection {name}", "ok", redact(settings.url(name)))


def _privileges(settings: Settings, name: str) -> Finding:
    """What the legacy role could do beyond reading (:mod:`migrate.legacy_role`). The
    sessions are read-only anyway; a SELECT-only role is the lock that holds against a
    superuser's file functions. Under ``[safety] legacy_role = "refuse"`` it is a FAIL."""
    from migrate.legacy_role import check, policy

    found = check(settings, name)
    label = f"legacy role {name}"
    if found.risks:
        status = "fail" if policy(settings) == "refuse" else "warn"
        return Finding(label, status, f"can do more than read: {'; '.join(found.risks)}")
    if found.unknown:
        return Finding(label, "fail" if policy(settings) == "refuse" else "warn", found.note)
    if "writable" in found.note:
        return Finding(label, "warn", found.note)
    return Finding(label, "ok", found.note or "SELECT only")


def _mappings(settings: Settings, mappings: Path, down: set[str]) -> list[Finding]:
    from migrate.validate.lint import check_mappings, crosswalk_coverage

    live = not down
    problems = check_mappings(settings, mappings, live=live)
    out = [Finding("mappings", "fail", p) for p in problems]
    if not problems:
        note = "" if live else f" (offline only: {', '.join(sorted(down))} down)"
        out.append(Finding("mappings", "ok" if live else "warn", "mappings OK" + note))
    if down or problems:
        out.append(Finding("crosswalk coverage", "warn", "skipped (needs every connection)"))
        return out
    gaps = crosswalk_coverage(settings, mappings)
    for (crosswalk, entity, column), values in sorted(gaps.items()):
        shown = ", ".join(repr(v) for v in values[:5])
        out.append(
            Finding(
                "crosswalk coverage",
                "warn",
                f"{crosswalk}: {entity}.{column}: {len(values)} uncovered: {shown}",
            )
        )
    if not gaps:
        out.append(Finding("crosswalk coverage", "ok", "every live legacy value covered"))
    return out


def _targets(settings: Settings, mappings: Path, staging_down: bool) -> list[Finding]:
    from migrate.targets.declared import target_directories
    from migrate.targets.drift import check_drift
    from migrate.targets.loader import load_targets

    folders = target_directories(mappings)  # where every other command finds them
    if not folders:
        return [Finding("target definitions", "ok", f"none (no targets/ in or beside {mappings})")]
    try:
        targets = {name: t for folder in folders for name, t in load_targets(folder).items()}
    except SpecErrors as exc:
        return [Finding("target definitions", "fail", str(e)) for e in exc.errors]
    if staging_down:
        return [Finding("target definitions", "warn", "files OK; drift skipped (staging down)")]
    file = sqlite_path(settings.url("staging"))
    if file is not None and not file.exists():
        return [Finding("target definitions", "ok", f"{len(targets)} OK; no staging yet")]
    engine = readonly_engine(settings.url("staging"))
    try:
        drifts = [
            d for t in targets.values() for d in check_drift(engine, t, settings.staging_schema)
        ]
    finally:
        engine.dispose()
    drifts = [d for d in drifts if d.kind != "missing table"]  # the first run creates it
    if drifts:
        return [Finding("target definitions", "fail", str(d)) for d in drifts]
    return [Finding("target definitions", "ok", f"{len(targets)} match staging")]


def render(findings: list[Finding]) -> str:
    """One line per finding, then the overall answer."""
    lines = [f"{f.status.upper():<5} {f.check:<24} {f.message}" for f in findings]
    worst = max((f.code for f in findings), default=0)
    counts = {s: sum(f.status == s for f in findings) for s in ("fail", "down", "warn")}
    summary = ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "all OK"
    verdict = {0: "ready", 1: "fix the FAIL lines first", 4: "a connection is down"}[worst]
    lines.append(f"doctor: {summary}: {verdict}")
    return "\n".join(lines)
