"""Checkpoints of the audit chain's head, kept where the log is not, and checked against it.

Learnt from transparency logs (RFC 6962/9162 signed tree heads, Trillian and sigstore
rekor checkpoints): a log proves nothing about its own end. Whoever drops the newest
entries, or rewrites the file and recomputes every hash, leaves a chain that verifies. So
at fixed points the head is written down elsewhere as a *checkpoint*: the entry count, the
head hash and, with a key, a MAC over both (the signature of a signed tree head). Here the
checkpoints are a row per event in staging's ``MIG_AUDIT_ANCHORS`` (a run's outcome, a
rollback, a reconciliation) and a field in each reconciliation's JSON and workbook.
``audit verify`` then asks every checkpoint: does the log still hold that many entries, and
does entry N still hash to that head? A Merkle tree is not needed (verify reads the whole
log, no third party asks for an inclusion proof), and a MAC is not a signature: whoever
holds the key to verify could also forge. Both are said in docs/how-to/audit.md.

The table's run column is ``ANCHORED_RUN``, not ``RUN_ID``: a rollback deletes a run's
rows from every table with a ``RUN_ID``, and a rollback must not erase the evidence.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, MetaData, String, Table, select
from sqlalchemy.exc import SQLAlchemyError

from migrate.audit import key as audit_key
from migrate.audit.key import AuditKey

log = logging.getLogger(__name__)

TABLE = "MIG_AUDIT_ANCHORS"
ANCHOR_KINDS = ("rejects_by_reason", "rollback", "workbook_hash")  # the last entry of an event
WORKBOOK_PROPERTY = "erp-migrate audit anchor"


@dataclass(frozen=True)
class Checkpoint:
    """The log held ``entries`` entries and the last one hashed to ``head``."""

    entries: int
    head: str
    key_id: str | None = None
    mac: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"entries": self.entries, "head": self.head, "key_id": self.key_id, "mac": self.mac}

    @classmethod
    def from_dict(cls, data: Any) -> Checkpoint:
        if not isinstance(data, dict):
            raise ValueError("not a checkpoint")
        key_id, mac = data.get("key_id"), data.get("mac")
        return cls(
            int(data["entries"]),
            str(data["head"]),
            str(key_id) if key_id else None,
            str(mac) if mac else None,
        )


@dataclass(frozen=True)
class Anchor:
    """A checkpoint and where it was found (for the message that names it)."""

    where: str
    checkpoint: Checkpoint


def checkpoint_text(data: Any) -> str:
    """A checkpoint as the one line of JSON a workbook property holds."""
    return json.dumps(Checkpoint.from_dict(data).as_dict(), sort_keys=True, separators=(",", ":"))


def make(entries: int, head: str, key: AuditKey | None) -> Checkpoint:
    if key is None:
        return Checkpoint(entries, head)
    return Checkpoint(entries, head, key.key_id, audit_key.checkpoint_mac(key, entries, head))


def anchor_table(md: MetaData) -> Table:
    """``MIG_AUDIT_ANCHORS`` on ``md`` (the one already there, if staging's metadata has it)."""
    name = f"{md.schema}.{TABLE}" if md.schema else TABLE
    if name in md.tables:
        return md.tables[name]
    return Table(
        TABLE,
        md,
        Column("ANCHORED_RUN", String(36), nullable=False, comment="not RUN_ID: kept by rollback"),
        Column("EVENT", String(40), nullable=False),
        Column("ENTRIES", BigInteger, nullable=False),
        Column("HEAD", String(64), nullable=False),
        Column("KEY_ID", String(16)),
        Column("MAC", String(64)),
        Column("RECORDED_AT", DateTime, nullable=False),
    )


def current(path: Path, key: AuditKey | None = None) -> Checkpoint | None:
    """The checkpoint of the log as it is now (None when it holds no entry)."""
    from migrate.audit.log import read_entries

    last: dict[str, Any] | None = None
    count = 0
    for _, entry in read_entries(path):
        count, last = count + 1, entry
    if last is None:
        return None
    return make(count, str(last.get("hash")), key if key is not None else audit_key.load(path))


def after_append(settings: Any, kind: str, payload: dict[str, Any], entry: dict[str, Any]) -> None:
    """After the last entry of a run's outcome, a rollback or a reconciliation: record the
    head in the staging that holds the run. A staging that cannot take it is a warning (the
    run's work is done); ``audit verify`` then reports the run as without a checkpoint."""
    run_id = payload.get("run_id")
    if kind not in ANCHOR_KINDS or not isinstance(run_id, str):
        return
    from migrate.audit.log import log_path

    cp = make(int(entry["seq"]), str(entry["hash"]), audit_key.load(log_path(settings)))
    try:
        if not _record(settings, run_id, kind, cp):
            log.warning("audit: run %s is in no staging here; its checkpoint is not kept", run_id)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("audit: the checkpoint of run %s was not kept in staging: %s", run_id, exc)


def _record(settings: Any, run_id: str, kind: str, cp: Checkpoint) -> bool:
    from migrate.db import writable_engine
    from migrate.runs.locate import has_staging, staging_target
    from migrate.runs.records import now

    for mode in ("full", "rehearsal"):
        url, schema = staging_target(settings, mode)
        if not has_staging(url, schema):
            continue
        engine, md = writable_engine(url), MetaData(schema=schema)
        runs = Table("MIG_RUNS", md, Column("RUN_ID", String(36)))
        table = anchor_table(md)
        try:
            with engine.begin() as conn:
                found = conn.execute(select(runs.c.RUN_ID).where(runs.c.RUN_ID == run_id)).first()
                if found is None:
                    continue
                table.create(conn, checkfirst=True)
                conn.execute(
                    table.insert().values(
                        ANCHORED_RUN=run_id,
                        EVENT=kind,
                        ENTRIES=cp.entries,
                        HEAD=cp.head,
                        KEY_ID=cp.key_id,
                        MAC=cp.mac,
                        RECORDED_AT=now(),
                    )  # fmt: skip
                )
                return True
        finally:
            engine.dispose()
    return False


def in_staging(settings: Any) -> tuple[list[Anchor], dict[str, str]]:
    """Every checkpoint in both stagings (read only), and every run recorded there (run id ->
    which staging); a staging that is absent or unreadable holds none."""
    from migrate.db import readonly_engine
    from migrate.errors import MigrationError
    from migrate.runs.locate import staging_target

    anchors: list[Anchor] = []
    runs: dict[str, str] = {}
    for mode in ("full", "rehearsal"):
        try:
            url, schema = staging_target(settings, mode)
        except MigrationError:
            continue
        label = "staging" if mode == "full" else "rehearsal staging"
        engine = readonly_engine(url)
        md = MetaData(schema=schema)
        try:
            with engine.connect() as conn:
                t = Table("MIG_RUNS", md, Column("RUN_ID", String(36)))
                runs.update({str(r): label for (r,) in conn.execute(select(t.c.RUN_ID))})
                anchors.extend(_staged(conn, anchor_table(md), label))
        except (SQLAlchemyError, ImportError, OSError):
            pass  # no staging, no MIG_RUNS, or no MIG_AUDIT_ANCHORS yet
        finally:
            engine.dispose()
    return anchors, runs


def _staged(conn: Any, table: Table, label: str) -> Iterator[Anchor]:
    order = (table.c.RECORDED_AT, table.c.ENTRIES)
    for row in conn.execute(select(table).order_by(*order)).mappings():
        cp = Checkpoint(int(row["ENTRIES"]), str(row["HEAD"]), row["KEY_ID"], row["MAC"])
        yield Anchor(f"{label} {TABLE} (run {row['ANCHORED_RUN']}, {row['EVENT']})", cp)


def in_files(folder: Path) -> tuple[list[Anchor], list[str]]:
    """Checkpoints in the reconciliation JSONs and workbooks of ``folder``, and the files
    that carry none (written before checkpoints were, or with the field removed)."""
    anchors: list[Anchor] = []
    without: list[str] = []
    for path in sorted(folder.glob("reconciliation_*.json")):
        found = _json_anchor(path)
        (anchors.append(Anchor(path.name, found)) if found else without.append(path.name))
    for path in sorted(folder.glob("reconciliation_*.xlsx")):
        found = _workbook_anchor(path)
        (anchors.append(Anchor(path.name, found)) if found else without.append(path.name))
    return anchors, without


def _json_anchor(path: Path) -> Checkpoint | None:
    try:
        run = json.loads(path.read_text(encoding="utf-8")).get("run") or {}
        data = run.get("audit_anchor")
        return Checkpoint.from_dict(data) if data else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _workbook_anchor(path: Path) -> Checkpoint | None:
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True)
        try:
            for prop in wb.custom_doc_props.props:
                if prop.name == WORKBOOK_PROPERTY:
                    return Checkpoint.from_dict(json.loads(str(prop.value)))
        finally:
            wb.close()
    except Exception:  # a file that is no workbook carries no checkpoint
        return None
    return None


def stamped(report: Any, settings: Any) -> Any:
    """``report`` (a reconciliation) with its run's checkpoint in its run facts
    (``audit_anchor``), so its JSON and workbook carry it: the log's head at the run's last
    outcome entry. That, not the head of the moment, keeps a second reconciliation of the
    same run byte-identical; what came after is checkpointed in staging. Unchanged when the
    log holds no outcome of the run."""
    from dataclasses import replace

    from migrate.audit.log import log_path, read_entries

    path = log_path(settings)
    found: tuple[int, str] | None = None
    for n, (_, entry) in enumerate(read_entries(path), start=1):
        payload = entry.get("payload")
        ours = isinstance(payload, dict) and payload.get("run_id") == report.run.run_id
        if ours and entry.get("kind") == "rejects_by_reason":
            found = (n, str(entry.get("hash")))
    if found is None:
        return report
    cp = make(found[0], found[1], audit_key.load(path))
    return replace(report, run=replace(report.run, audit_anchor=cp.as_dict()))
