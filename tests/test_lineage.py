"""Row lineage both ways per domain, OpenLineage events against the spec, and a scan of every
artifact of a demo run for the planted SSNs and bank account numbers."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jsonschema
import openpyxl
import pytest
import referencing.exceptions
from openlineage.client.event_v2 import RunState
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cli.main import DEFAULT_MAPPINGS
from migrate.audit import log as audit
from migrate.config import Settings, load_settings, redact
from migrate.db import writable_engine
from migrate.lineage import openlineage as ol
from migrate.lineage.keyed_hash import keyed_hash
from migrate.lineage.masking import target_personal
from migrate.lineage.render import to_json, to_text
from migrate.lineage.trace import Trace, trace
from migrate.runs import hooks
from migrate.runs import records as runs
from migrate.spec.loader import load_project
from migrate.staging.tables import build_metadata

SCHEMA_DIR = Path(__file__).parent / "data" / "openlineage"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Settings, str]:
    """A small demo run; run hooks replayed here only if the runner does not call them yet."""
    from cli.demo import run_demo

    workdir = tmp_path_factory.mktemp("demo")
    settings = load_settings(workdir)
    logs = io.StringIO()
    handler = logging.StreamHandler(logs)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        with contextlib.redirect_stdout(logs), contextlib.redirect_stderr(logs):
            run_demo(settings, DEFAULT_MAPPINGS, scale=300)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    (workdir / "demo.log").write_text(logs.getvalue(), encoding="utf-8")  # scanned below
    md = build_metadata(None)
    engine = writable_engine(settings.url("staging"))
    run_id = runs.latest_run(engine, md)
    assert run_id
    info = runs.get_run(engine, md, run_id)
    logged = {
        (e["kind"], e["payload"].get("run_id"))
        for _, e in audit.read_entries(audit.log_path(settings))
    }
    if ("run_started", run_id) not in logged:
        event = hooks.RunEvent(
            run_id, info.mode, redact(settings.url("staging")), None, info.mapping_hashes,
            _entity_results(settings, run_id, runs.entity_totals(engine, md, run_id)),
        )  # fmt: skip
        hooks.on_run_started(settings, event)
        hooks.on_run_completed(settings, event)
    if ("reconciliation_verdict", run_id) not in logged and info.verdict:
        audit.record_reconciliation(settings, run_id, info.verdict, info.workbook_sha256 or "")
    engine.dispose()
    return settings, run_id


def _entity_results(
    settings: Settings, run_id: str, totals: dict[str, dict[str, int]]
) -> list[dict[str, Any]]:
    with sqlite3.connect(settings.workdir / "staging.db") as db:
        rows = db.execute(
            "SELECT ENTITY, REASON_CODE, COUNT(*) FROM MIG_REJECTS WHERE RUN_ID = ? "
            "GROUP BY ENTITY, REASON_CODE",
            (run_id,),
        ).fetchall()
    reasons: dict[str, dict[str, int]] = {}
    for entity, reason, n in rows:
        reasons.setdefault(entity, {})[reason] = n
    return [{"entity": k, **v, "reasons": reasons.get(k, {})} for k, v in totals.items()]


def _staging(settings: Settings, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with sqlite3.connect(settings.workdir / "staging.db") as db:
        return db.execute(sql, params).fetchall()


def _manifest(settings: Settings) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((settings.workdir / "estate_manifest.json").read_text())
    return data


def _check_forward(t: Trace, entity: str, system: str, table: str) -> None:
    assert t.staged and t.staged[0].entity == entity
    own = t.sources[0]
    assert (own.system, own.table, own.key) == (system, table, t.staged[0].source_key)
    assert own.row is not None
    assert t.rules[entity]
    assert t.runs and t.runs[0].mappings[entity]["unchanged"] is True
    assert t.runs[0].mappings[entity]["sha256_used"]
    assert any(e["kind"] == "mapping_versions" for e in t.runs[0].audit)


# -- forward and reverse, one per domain ------------------------------------------------------


def test_ap_invoice_line_both_ways(demo: tuple[Settings, str]) -> None:
    settings, run_id = demo
    inv, line, src = _staging(
        settings,
        "SELECT INVOICE_ID, LINE_NUMBER, MIG_SOURCE_KEY FROM AP_INVOICE_LINES_INTERFACE LIMIT 1",
    )[0]
    t = trace(settings, "AP_INVOICE_LINES_INTERFACE", f"{inv}|{line}")
    _check_forward(t, "ap_invoice_lines", "finance", "APINVLIN")
    assert t.runs[0].run_id == run_id and t.runs[0].verdict in ("PASS", "FAIL")
    amount = next(r for r in t.rules["ap_invoice_lines"] if r.column == "AMOUNT")
    assert amount.direct == ["LIN_AMT_CENTS"] and "money" in amount.description
    back = trace(settings, "APINVLIN", src, reverse=True, system="finance")
    assert [o.kind for o in back.outcomes] == ["staged"]
    assert back.staged[0].values["INVOICE_ID"] == inv


def test_worker_both_ways_masks_personal_data(demo: tuple[Settings, str]) -> None:
    settings, _ = demo
    person, src = _staging(settings, "SELECT PERSON_NUMBER, MIG_SOURCE_KEY FROM WORKERS LIMIT 1")[0]
    with sqlite3.connect(settings.workdir / "legacy_hr.db") as db:
        ssn, birth = db.execute(
            "SELECT ssn, birth_dt FROM emp_master WHERE emp_id = ?", (src,)
        ).fetchone()
    t = trace(settings, "WORKERS", str(person))
    _check_forward(t, "workers", "hr", "emp_master")
    assert t.staged[0].values["NATIONAL_IDENTIFIER"] == "***" + ssn[-4:]
    assert t.sources[0].row and t.sources[0].row["ssn"] == "***" + ssn[-4:]
    back = trace(settings, "emp_master", src, reverse=True, system="hr")
    assert [o.kind for o in back.outcomes] == ["staged"]
    for text in (to_text(t), to_json(t), to_text(back), to_json(back)):
        assert ssn not in text and birth not in text


def test_po_line_both_ways(demo: tuple[Settings, str]) -> None:
    settings, _ = demo
    key, src = _staging(
        settings, "SELECT INTERFACE_LINE_KEY, MIG_SOURCE_KEY FROM PO_LINES_INTERFACE LIMIT 1"
    )[0]
    t = trace(settings, "PO_LINES_INTERFACE", str(key))
    _check_forward(t, "po_lines", "procurement", "POLines")
    back = trace(settings, "POLines", src, reverse=True)
    assert [o.kind for o in back.outcomes] == ["staged"]


def test_merged_supplier_shows_both_legacy_records(demo: tuple[Settings, str]) -> None:
    settings, _ = demo
    merge = _manifest(settings)["expected_merges"][0]
    vnd, vendor_id = merge["VND_NO"], str(merge["VendorID"])
    erp = _staging(
        settings,
        "SELECT ERP_KEY FROM MIG_KEY_MAP WHERE DOMAIN='supplier' AND SOURCE_SYSTEM='finance' "
        "AND LEGACY_KEY=?",
        vnd,
    )[0][0]
    t = trace(settings, "SUPPLIERS", str(erp))
    assert len(t.staged) == 1
    found = {(s.system, s.table, s.key) for s in t.sources if s.row is not None}
    assert ("finance", "VNDMSTR", vnd) in found
    assert ("procurement", "Vendors", vendor_id) in found
    assert "merged record" in to_text(t)
    back = trace(settings, "Vendors", vendor_id, reverse=True, system="procurement")
    assert [o.kind for o in back.outcomes] == ["merged"]
    assert f"SUPPLIER_ID={erp}" in back.outcomes[0].detail
    assert back.staged[0].values["SUPPLIER_ID"] == erp


def test_reverse_trace_of_rejected_and_unknown_rows(demo: tuple[Settings, str]) -> None:
    settings, _ = demo
    defect = next(
        d
        for d in _manifest(settings)["defects"]
        if d["table"] == "direct_deposit" and d["defect"] == "bad_routing_checksum"
    )
    emp_id, seq = defect["key"]["emp_id"], defect["key"]["seq"]
    with sqlite3.connect(settings.workdir / "legacy_hr.db") as db:
        (routing,) = db.execute(
            "SELECT routing_no FROM direct_deposit WHERE emp_id = ? AND seq = ?", (emp_id, seq)
        ).fetchone()
    back = trace(settings, "direct_deposit", f"{emp_id}|{seq}", reverse=True, system="hr")
    assert [o.kind for o in back.outcomes] == ["rejected"]
    assert "invalid_format" in back.outcomes[0].detail
    assert str(routing) not in to_text(back)  # the bad routing number itself
    assert defect["note"] == "***" + str(routing)[-4:]  # the manifest masks it too
    nothing = trace(settings, "emp_master", "E9999999", reverse=True, system="hr")
    assert not nothing.outcomes and nothing.warnings


def test_cli_trace_json(demo: tuple[Settings, str], capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from cli.lineage import add_parsers

    settings, _ = demo
    parser = argparse.ArgumentParser()
    add_parsers(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["lineage", "trace", "WORKERS", "1", "--json"])
    assert args.handler(args, settings) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["staged"][0]["table"] == "WORKERS"
    assert data["rules"]["workers"][0]["description"]


# -- OpenLineage ------------------------------------------------------------------------------


def _validate(event: dict[str, Any]) -> None:
    """Against the restated schema, and the official files when there are any (README.md)."""
    schema = json.loads((SCHEMA_DIR / "run_event.schema.json").read_text())
    checker = jsonschema.FormatChecker()
    jsonschema.Draft202012Validator(schema, format_checker=checker).validate(event)
    registry = _official_registry()
    if registry is None:
        return
    checks = [("event", event["schemaURL"], event)]
    checks.append(("event (document)", event["schemaURL"].split("#")[0], event))
    checks += [(where, facet["_schemaURL"], facet) for where, facet in _facets(event)]
    errors = []
    for where, url, instance in checks:
        check = jsonschema.Draft202012Validator(
            {"$ref": url}, registry=registry, format_checker=checker
        )
        try:
            errors += [f"{where}: {e.message}" for e in check.iter_errors(instance)]
        except referencing.exceptions.Unresolvable as exc:
            errors.append(f"{where}: no official file for {exc} (README.md: aliases.json)")
    assert not errors, "\n".join(errors)


def _official_registry() -> Registry | None:
    """The official spec files in $OPENLINEAGE_SPEC_DIR (else official/ here), by ``$id``."""
    env = os.environ.get("OPENLINEAGE_SPEC_DIR")
    root = Path(env) if env else SCHEMA_DIR / "official"
    if not env and not root.is_dir():
        return None
    assert root.is_dir(), f"OPENLINEAGE_SPEC_DIR={env} is not a directory"
    by_id: dict[str, Resource[Any]] = {}
    for path in sorted(root.rglob("*.json")):
        contents = json.loads(path.read_text(encoding="utf-8"))
        if path.name != "aliases.json" and "$id" in contents:
            by_id[contents["$id"]] = Resource.from_contents(contents, DRAFT202012)
    assert by_id, f"no schema file (with an $id) under {root}"
    aliases = root / "aliases.json"  # claimed URL -> $id of the file standing in for it
    pairs = [*by_id.items()]
    if aliases.exists():
        pairs += [(url, by_id[i]) for url, i in json.loads(aliases.read_text()).items()]
    return Registry().with_resources(pairs)


def _facets(event: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for part in ("run", "job"):
        for name, facet in event[part].get("facets", {}).items():
            yield f"{part}.{name}", facet
    for side in ("inputs", "outputs"):
        for i, dataset in enumerate(event.get(side) or []):
            for bag in ("facets", "inputFacets", "outputFacets"):
                for name, facet in dataset.get(bag, {}).items():
                    yield f"{side}[{i}].{bag}.{name}", facet


def _events(settings: Settings) -> list[dict[str, Any]]:
    path = settings.artifacts / ol.EVENTS_FILE
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_openlineage_events_validate_against_the_spec(demo: tuple[Settings, str]) -> None:
    settings, run_id = demo
    events = _events(settings)
    for event in events:
        _validate(event)
    states = Counter((e["run"]["runId"], e["eventType"]) for e in events)
    ids = {rid for rid, _ in states}
    assert len(ids) == 1 + len(load_project(DEFAULT_MAPPINGS).order)
    assert all(states[(rid, "START")] == 1 and states[(rid, "COMPLETE")] == 1 for rid in ids)
    assert ol.run_uuid(run_id) in ids


def test_openlineage_column_lineage_and_counts(demo: tuple[Settings, str]) -> None:
    settings, run_id = demo
    done = [e for e in _events(settings) if e["eventType"] == "COMPLETE" and e["outputs"]]
    workers = next(e for e in done if e["job"]["name"] == "workers")
    assert workers["inputs"][0]["name"] == "emp_master"
    assert workers["inputs"][0]["namespace"] == redact(settings.url("hr"))
    out = workers["outputs"][0]
    ssn = out["facets"]["columnLineage"]["fields"]["NATIONAL_IDENTIFIER"]["inputFields"][0]
    assert ssn["field"] == "ssn"
    assert "personal: ssn" in ssn["transformations"][0]["description"]
    pct = next(e for e in done if e["job"]["name"] == "bank_accounts")["outputs"][0]
    pct_in = pct["facets"]["columnLineage"]["fields"]["PERCENTAGE"]["inputFields"][0]
    assert pct_in["transformations"][0]["subtype"] == "IDENTITY"
    loaded = _staging(settings, "SELECT COUNT(*) FROM WORKERS WHERE MIG_RUN_ID=?", run_id)[0][0]
    assert out["outputFacets"]["outputStatistics"]["rowCount"] == loaded
    parent = workers["run"]["facets"]["parent"]["run"]["runId"]
    assert parent == ol.run_uuid(run_id)


def test_a_run_of_one_entity_emits_lineage_for_that_entity_only(tmp_path: Path) -> None:
    from fixtures.estate.build import build_estate
    from migrate.runs.runner import run_migration

    settings = load_settings(tmp_path)
    urls = {s: settings.url(s) for s in ("finance", "hr", "procurement")}
    build_estate(urls, tmp_path / "extracts", scale=200, seed=3)
    summary = run_migration(settings, DEFAULT_MAPPINGS, "full", ["gl_accounts"])
    jobs = Counter((e["job"]["name"], e["eventType"]) for e in _events(settings))
    assert jobs == Counter(
        {("migration", "START"): 1, ("migration", "COMPLETE"): 1,
         ("gl_accounts", "START"): 1, ("gl_accounts", "COMPLETE"): 1}
    )  # fmt: skip
    engine = writable_engine(settings.url("staging"))
    recorded = runs.get_run(engine, build_metadata(None), summary.run_id).mapping_hashes
    engine.dispose()
    assert list(recorded) == ["mappings/finance/gl_accounts.yaml"]


def test_fail_event_validates_and_carries_no_secret(tmp_path: Path) -> None:
    event = ol.run_event(RunState.FAIL, "r1", "full", audit.scrub("x postgresql://u:pw@h/d"))
    settings = load_settings(tmp_path)
    ol.emit(settings, [event])
    (written,) = _events(settings)
    _validate(written)
    assert "pw@" not in json.dumps(written)
    assert written["run"]["facets"]["errorMessage"]["message"] == "x postgresql://u:***@h/d"


@pytest.fixture
def endpoint() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A throwaway OpenLineage endpoint on the loopback interface."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append(json.loads(body))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", received
    server.shutdown()
    server.server_close()


def test_events_are_posted_when_an_endpoint_is_set(
    tmp_path: Path,
    endpoint: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url, received = endpoint
    monkeypatch.setenv("OPENLINEAGE_URL", url)
    settings = load_settings(tmp_path)
    ol.emit(settings, [ol.run_event(RunState.START, "r2", "full")])
    assert [e["run"]["runId"] for e in received] == [ol.run_uuid("r2")]
    assert len(_events(settings)) == 1


# -- keyed hashes -----------------------------------------------------------------------------


def test_keyed_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    assert keyed_hash("123-45-6789", "ssn") == keyed_hash("123456789", "ssn")
    assert keyed_hash(None) is None
    before = keyed_hash("123456789")
    monkeypatch.setenv("MIGRATE_MASK_KEY", "another key")
    assert keyed_hash("123456789") != before
    assert len(before or "") == 64 and "123456789" not in (before or "")


# -- no planted personal value in any artifact -------------------------------------------------


def _planted(settings: Settings) -> dict[str, set[str]]:
    with sqlite3.connect(settings.workdir / "legacy_hr.db") as db:
        ssns = {str(r[0]).strip() for r in db.execute("SELECT ssn FROM emp_master")}
        accounts = {str(r[0]).strip() for r in db.execute("SELECT account_no FROM direct_deposit")}
        routing = {str(r[0]).strip() for r in db.execute("SELECT routing_no FROM direct_deposit")}
    digits = {re.sub(r"\D", "", s) for s in ssns}
    return {
        "ssn": {s for s in ssns | digits if len(re.sub(r"\D", "", s)) >= 7},
        "account": {a for a in accounts if len(a) >= 6},
        "routing": {r for r in routing if len(r) >= 8},
    }


def _texts(settings: Settings) -> Iterator[tuple[str, str]]:
    """(where, text) for every artifact of the run; target personal columns left out."""
    root = settings.workdir
    # The legacy DBs are the estate itself; estate_manifest.json (its answer key) is scanned.
    skip = {"legacy_finance.db", "legacy_hr.db", "legacy_procurement.db"}
    personal = target_personal(load_project(DEFAULT_MAPPINGS).entities[n].spec
                               for n in load_project(DEFAULT_MAPPINGS).order)  # fmt: skip
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        if rel.parts[0] == "extracts" or rel.name in skip:
            continue
        if path.suffix == ".db":
            yield from _db_texts(path, personal)
        elif path.suffix == ".xlsx":
            book = openpyxl.load_workbook(path, read_only=True)
            for ws in book.worksheets:
                cells = (str(c) for row in ws.iter_rows(values_only=True) for c in row if c)
                yield f"{rel}:{ws.title}", "\n".join(cells)
        else:
            yield str(rel), path.read_text(encoding="utf-8", errors="replace")


def _db_texts(path: Path, personal: dict[str, dict[str, str]]) -> Iterator[tuple[str, str]]:
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            cols = [r[1] for r in db.execute(f'PRAGMA table_info("{table}")')]
            keep = [c for c in cols if c.upper() not in personal.get(table.upper(), {})]
            select = ", ".join(f'"{c}"' for c in keep)
            rows = db.execute(f'SELECT {select} FROM "{table}"').fetchall()
            yield f"{path.name}:{table}", "\n".join("|".join(map(str, r)) for r in rows)


def test_no_planted_personal_value_in_any_artifact(demo: tuple[Settings, str]) -> None:
    settings, _ = demo
    planted = _planted(settings)
    assert planted["ssn"] and planted["account"]
    texts = list(_texts(settings))
    names = {where.split(":")[0] for where, _ in texts}
    expected = {"artifacts/audit.log", "artifacts/openlineage.jsonl", "staging.db", "demo.log"}
    assert expected | {"estate_manifest.json"} <= names
    assert any(n.endswith(".xlsx") for n in names) and any(n.endswith(".json") for n in names)
    for person in _staging(settings, "SELECT PERSON_NUMBER FROM WORKERS"):
        texts.append(("trace WORKERS", to_json(trace(settings, "WORKERS", str(person[0])))))
    for key in _staging(settings, "SELECT SOURCE_KEY FROM MIG_REJECTS WHERE ENTITY LIKE 'bank%'"):
        back = trace(settings, "direct_deposit", str(key[0]), reverse=True, system="hr")
        texts.append(("trace direct_deposit", to_text(back)))
    leaks = [
        f"{where}: {kind} {value}"
        for where, text in texts
        for kind, values in planted.items()
        for value in values
        if value in text and re.search(rf"(?<!\d){re.escape(value)}(?!\d)", text)
    ]
    assert not leaks, "\n".join(leaks[:20])


def test_audit_entries_in_a_trace_never_read_as_empty() -> None:
    """The per-entity and per-file detail stays in the audit log; the trace says how much
    (it printed ``rejects_by_reason {}`` for a run with 228 rejects)."""
    from migrate.lineage.render import _short

    assert _short({"run_id": "r1", "entities": {"a": {}, "b": {}}}) == (
        '{"entities": "2 entities (in the audit log)"}'
    )
    assert _short({"run_id": "r1", "mappings": {"x.yaml": "ab"}, "mode": "full"}) == (
        '{"mappings": "1 files (in the audit log)", "mode": "full"}'
    )
