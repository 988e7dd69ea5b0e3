"""``migrate runs``: every run staging knows, newest first, and what to do next with each.

After a crash nothing else tells a user which id to pass to ``migrate resume``. The list
reads the real staging and the rehearsal's own (never creating either): id, mode, state,
when it started, entities done out of those it was started with, the verdict of its latest
reconciliation, and the next command.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import MetaData, func, select

from migrate.config import Settings
from migrate.db import writable_engine
from migrate.runs import records as runs
from migrate.runs.locate import has_staging, staging_target
from migrate.signoff import reconciliations
from migrate.staging.tables import build_metadata


@dataclass(frozen=True)
class RunLine:
    """One run as ``migrate runs`` shows it."""

    run_id: str
    mode: str
    state: str
    started: datetime | None
    entities_done: int
    entities: int
    verdict: str
    signed: str
    next_step: str


def list_runs(settings: Settings) -> list[RunLine]:
    """Every run of the real staging and the rehearsal's, newest first."""
    out: list[RunLine] = []
    seen: set[tuple[str, str | None]] = set()
    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        if (url, schema) in seen or not has_staging(url, schema):
            continue
        seen.add((url, schema))
        out.extend(_lines(url, build_metadata(schema)))
    return sorted(out, key=lambda r: r.started or datetime.min, reverse=True)


def _lines(url: str, md: MetaData) -> list[RunLine]:
    engine = writable_engine(url)
    key = f"{md.schema}.MIG_RUNS" if md.schema else "MIG_RUNS"
    prog_key = key.replace("MIG_RUNS", "MIG_PROGRESS")
    try:
        with engine.connect() as conn:
            t = md.tables[key]
            rows = conn.execute(select(t.c.RUN_ID)).scalars().all()
            p = md.tables[prog_key]
            query = select(p.c.RUN_ID, func.count(func.distinct(p.c.ENTITY))).group_by(p.c.RUN_ID)
            done = {r: int(n) for r, n in conn.execute(query).all()}
        lines = []
        for run_id in rows:
            info = runs.get_run(engine, md, run_id)
            found = reconciliations.history(engine, md, run_id)
            signed = reconciliations.signoffs(engine, md, run_id)
            verdict = found[-1].verdict if found else info.verdict or ""
            outcome = signed[-1].outcome if signed else ""
            lines.append(
                RunLine(
                    run_id,
                    info.mode,
                    info.status,
                    info.started_at,
                    done.get(run_id, 0),
                    len(info.mapping_hashes),
                    verdict,
                    outcome,
                    next_step(run_id, info.status, verdict, outcome),
                )
            )
        return lines
    finally:
        engine.dispose()


def next_step(run_id: str, state: str, verdict: str, signed: str) -> str:
    """The command that moves the run on (or why none does)."""
    if state == "rolled_back":
        return "nothing (rolled back)"
    if state != "complete":
        return f"migrate resume {run_id} (or migrate rollback {run_id})"
    if not verdict:
        return f"migrate reconcile {run_id}"
    if verdict == "FAIL":
        return f"fix the mappings, migrate rollback {run_id}, run again"
    if signed.startswith("APPROVED"):
        return "signed off"
    return f"review the workbook, then migrate audit signoff {run_id} --approver NAME ..."


def format_runs(lines: list[RunLine]) -> str:
    """A table a person reads; the next step last, since it is the longest."""
    width = max([14, *(len(r.run_id) + 2 for r in lines)])  # 32-digit ids since issue 21
    head = f"{'run':<{width}}{'mode':<11}{'state':<13}{'started (UTC)':<18}{'entities':>9}  "
    head += f"{'verdict':<11}next"
    out = [head, "-" * (len(head) + 20)]
    for r in lines:
        started = r.started.strftime("%Y-%m-%d %H:%M") if r.started else "?"
        count = f"{r.entities_done}/{r.entities}" if r.entities else str(r.entities_done)
        out.append(
            f"{r.run_id:<{width}}{r.mode:<11}{r.state:<13}{started:<18}{count:>9}  "
            f"{r.verdict or '-':<11}{r.next_step}"
        )
    return "\n".join(out)
