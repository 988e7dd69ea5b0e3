"""The reconciliation history of a run and the sign-offs that judged it (staging tables
``MIG_RECONCILIATIONS`` and ``MIG_SIGNOFFS``).

Each ``migrate reconcile`` adds a numbered reconciliation (1, 2, ...) with its own files and
their SHA-256s; nothing here updates or deletes a row, so a signed reconciliation stays what
it was when it was signed. ``MIG_RUNS.VERDICT`` and ``WORKBOOK_SHA256`` keep meaning "the
latest reconciliation" for the readers that only want that.

A column added since the tables were first made (``MIG_SIGNOFFS.WHY``) is added to an older
staging's table by :func:`ensure_tables` (nullable, so rows before it read as "no reason").
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, MetaData, func, inspect, select, text

from migrate.errors import RunStateError
from migrate.runs.records import now

TABLES = ("MIG_RECONCILIATIONS", "MIG_SIGNOFFS")


def _t(md: MetaData, name: str) -> Any:
    return md.tables[f"{md.schema}.{name}" if md.schema else name]


@dataclass(frozen=True)
class Reconciled:
    """One kept reconciliation of a run, as recorded."""

    run_id: str
    number: int
    verdict: str
    reconciled_at: str
    reconciled_by: str | None
    entities: tuple[str, ...]
    exceptions: int
    workbook_path: str
    workbook_sha256: str
    json_path: str
    json_sha256: str
    differences_path: str
    differences_sha256: str


@dataclass(frozen=True)
class SignOff:
    """One sign-off decision on one reconciliation."""

    run_id: str
    reconciliation: int
    workbook_sha256: str
    verdict: str
    approver: str
    decision: str
    outcome: str
    exceptions_accepted: int
    comment: str
    signed_at: str
    why: str = ""  # why an approval does not approve the run, a line each ("" when it does)


def ensure_tables(engine: Engine, md: MetaData) -> None:
    """Create the two history tables in a staging made before they existed, and add the
    nullable columns added since to one made before them."""
    with engine.begin() as conn:
        for name in TABLES:
            _t(md, name).create(conn, checkfirst=True)
    for name in TABLES:
        _add_missing_columns(engine, _t(md, name))


def _add_missing_columns(engine: Engine, table: Any) -> None:
    have = {c["name"] for c in inspect(engine).get_columns(table.name, schema=table.schema)}
    prep = engine.dialect.identifier_preparer
    for column in table.columns:
        if column.name in have or not column.nullable:
            continue
        kind = column.type.compile(dialect=engine.dialect)
        with engine.begin() as conn:
            conn.execute(
                text(f"ALTER TABLE {prep.format_table(table)} ADD {prep.quote(column.name)} {kind}")
            )


def next_number(conn: Connection, md: MetaData, run_id: str) -> int:
    t = _t(md, "MIG_RECONCILIATIONS")
    top = conn.execute(select(func.max(t.c.NUMBER)).where(t.c.RUN_ID == run_id)).scalar()
    return int(top or 0) + 1


def add(conn: Connection, md: MetaData, rec: Reconciled) -> None:
    values = {
        "RUN_ID": rec.run_id,
        "NUMBER": rec.number,
        "VERDICT": rec.verdict,
        "RECONCILED_AT": rec.reconciled_at,
        "RECONCILED_BY": rec.reconciled_by,
        "ENTITIES": json.dumps(list(rec.entities)),
        "EXCEPTIONS": rec.exceptions,
        "WORKBOOK_PATH": rec.workbook_path,
        "WORKBOOK_SHA256": rec.workbook_sha256,
        "JSON_PATH": rec.json_path,
        "JSON_SHA256": rec.json_sha256,
        "DIFFERENCES_PATH": rec.differences_path,
        "DIFFERENCES_SHA256": rec.differences_sha256,
    }
    conn.execute(_t(md, "MIG_RECONCILIATIONS").insert().values(**values))


def history(engine: Engine, md: MetaData, run_id: str) -> list[Reconciled]:
    """The run's reconciliations, oldest first (empty for a staging without the table)."""
    t = _t(md, "MIG_RECONCILIATIONS")
    if not _has(engine, md, "MIG_RECONCILIATIONS"):
        return []
    with engine.connect() as conn:
        rows = conn.execute(select(t).where(t.c.RUN_ID == run_id).order_by(t.c.NUMBER))
        return [_reconciled(r) for r in rows.mappings()]


def pick(found: list[Reconciled], run_id: str, number: int | None) -> Reconciled:
    """The reconciliation a sign-off names: ``number``, or the latest when None."""
    if not found:
        raise RunStateError(
            f"run {run_id} has not been reconciled: run 'migrate reconcile {run_id}' "
            "and sign the workbook it writes"
        )
    if number is None:
        return found[-1]
    for rec in found:
        if rec.number == number:
            return rec
    have = ", ".join(str(r.number) for r in found)
    raise RunStateError(f"run {run_id} has no reconciliation {number} (it has {have})")


def add_signoff(conn: Connection, md: MetaData, s: SignOff) -> None:
    conn.execute(
        _t(md, "MIG_SIGNOFFS")
        .insert()
        .values(
            RUN_ID=s.run_id,
            RECONCILIATION=s.reconciliation,
            WORKBOOK_SHA256=s.workbook_sha256,
            VERDICT=s.verdict,
            APPROVER=s.approver,
            DECISION=s.decision,
            OUTCOME=s.outcome,
            EXCEPTIONS_ACCEPTED=s.exceptions_accepted,
            COMMENT=s.comment,
            SIGNED_AT=now(),
            WHY=s.why or None,
        )
    )


def signoffs(engine: Engine, md: MetaData, run_id: str) -> list[SignOff]:
    """The run's sign-off decisions, oldest first."""
    t = _t(md, "MIG_SIGNOFFS")
    if not _has(engine, md, "MIG_SIGNOFFS"):
        return []
    have = {c["name"] for c in inspect(engine).get_columns(t.name, schema=t.schema)}
    columns = [c for c in t.columns if c.name in have]  # a table made before WHY: read it
    with engine.connect() as conn:
        stmt = select(*columns).where(t.c.RUN_ID == run_id).order_by(t.c.SIGNED_AT)
        rows = conn.execute(stmt).mappings()
        return [
            SignOff(
                r["RUN_ID"],
                r["RECONCILIATION"],
                r["WORKBOOK_SHA256"],
                r["VERDICT"],
                r["APPROVER"],
                r["DECISION"],
                r["OUTCOME"],
                r["EXCEPTIONS_ACCEPTED"],
                r["COMMENT"] or "",
                r["SIGNED_AT"].isoformat(timespec="seconds"),
                r.get("WHY") or "",
            )  # fmt: skip
            for r in rows
        ]


def staged_entities(engine: Engine, md: MetaData, run_id: str) -> tuple[str, ...]:
    """The entities the run staged chunks for, as the pipeline named them (``MIG_PROGRESS``):
    what a reconciliation must cover to approve the run, whatever the mapping folder says
    today. An entity whose source was empty has no chunk; the run's mapping files count it."""
    t = _t(md, "MIG_PROGRESS")
    with engine.connect() as conn:
        rows = conn.execute(select(t.c.ENTITY).where(t.c.RUN_ID == run_id).distinct())
        return tuple(sorted(str(r[0]) for r in rows))


def _has(engine: Engine, md: MetaData, name: str) -> bool:
    return inspect(engine).has_table(name, schema=md.schema)


def _reconciled(r: Any) -> Reconciled:
    return Reconciled(
        run_id=r["RUN_ID"],
        number=int(r["NUMBER"]),
        verdict=r["VERDICT"],
        reconciled_at=r["RECONCILED_AT"],
        reconciled_by=r["RECONCILED_BY"],
        entities=tuple(json.loads(r["ENTITIES"] or "[]")),
        exceptions=int(r["EXCEPTIONS"]),
        workbook_path=r["WORKBOOK_PATH"],
        workbook_sha256=r["WORKBOOK_SHA256"],
        json_path=r["JSON_PATH"],
        json_sha256=r["JSON_SHA256"],
        differences_path=r["DIFFERENCES_PATH"],
        differences_sha256=r["DIFFERENCES_SHA256"],
    )
