"""Rolling back a run never corrupts the references of other runs (issue 22, item 2).

Run S stages suppliers, run I stages invoices that look them up. Before: ``migrate rollback
S`` went through, and the next run numbered its keys after the key map's maximum, so it
gave S's keys to other suppliers and I's invoices pointed at them. Now a key once issued is
never issued again (a high-water mark per key space, kept across rollbacks), and a rollback
that would orphan other runs' rows is refused, naming them, unless it cascades.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fixtures.estate.build import build_estate
from migrate.audit import log as audit
from migrate.config import Settings, load_settings
from migrate.errors import RunStateError
from migrate.runs.rollback import cascade_plan, rollback_cascade
from migrate.runs.runner import rollback_run, run_migration
from migrate.spec.loader import load_project
from tests.conftest import (
    drop_mysql_database,
    drop_pg_database,
    make_mysql_database,
    make_pg_database,
)

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
PROJECT = load_project(MAPPINGS)
LOOKUPS = sorted(
    (name, PROJECT.spec(name).target.table, column, field.lookup.domain)
    for name in PROJECT.order
    for column, field in PROJECT.spec(name).fields.items()
    if field.lookup is not None
)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def staging(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """Legacy estate in SQLite files; staging on the parameter's engine."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'staging.db'}"
        drop = None
    elif request.param == "postgresql":
        admin = str(request.getfixturevalue("pg_server"))
        url, drop = make_pg_database(admin), (drop_pg_database, admin)
    else:
        admin = str(request.getfixturevalue("mysql_server"))
        url, drop = make_mysql_database(admin), (drop_mysql_database, admin)
    monkeypatch.setenv("MIGRATE_STAGING_URL", url)
    monkeypatch.delenv("MIGRATE_STAGING_SCHEMA", raising=False)
    settings = load_settings(tmp_path)
    build_estate(
        {k: settings.url(k) for k in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=3,
    )
    try:
        yield url
    finally:
        if drop is not None:
            drop[0](drop[1], url)


def rows(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            quoted = sql.replace('"', "`") if url.startswith("mysql") else sql
            return [tuple(r) for r in conn.execute(text(quoted))]
    finally:
        engine.dispose()


def keys(url: str, domain: str, system: str) -> dict[str, int]:
    found = rows(
        url,
        'SELECT "LEGACY_KEY", "ERP_KEY" FROM "MIG_KEY_MAP" '
        f"WHERE \"DOMAIN\" = '{domain}' AND \"SOURCE_SYSTEM\" = '{system}'",
    )
    return {str(k): int(str(v)) for k, v in found}


def run(settings: Settings, *entities: str) -> str:
    return run_migration(settings, MAPPINGS, "full", list(entities)).run_id


def orphans(url: str) -> dict[str, int]:
    """Per entity, staged lookup values that no key-map entry of their key space holds."""
    issued: dict[str, set[str]] = {}
    for domain, erp in rows(url, 'SELECT "DOMAIN", "ERP_KEY" FROM "MIG_KEY_MAP"'):
        issued.setdefault(str(domain), set()).add(str(erp))
    out: dict[str, int] = {}
    for entity, table, column, domain in LOOKUPS:
        values = rows(
            url,
            f'SELECT "{column}" FROM "{table}" WHERE "MIG_ENTITY" = \'{entity}\' '
            f'AND "{column}" IS NOT NULL',
        )
        missing = [v for (v,) in values if str(v) not in issued.get(domain, set())]
        if missing:
            out[entity] = len(missing)
    return out


def test_referenced_suppliers_are_not_rolled_back_and_keys_never_come_again(
    staging: str, tmp_path: Path
) -> None:
    settings = load_settings(tmp_path)
    suppliers = run(settings, "suppliers_finance")
    invoices = run(settings, "ap_invoices")
    staged = rows(staging, 'SELECT COUNT(*) FROM "AP_INVOICES_INTERFACE"')[0][0]
    assert staged == 43
    with pytest.raises(RunStateError) as refused:
        rollback_run(settings, suppliers)
    line = str(refused.value)
    assert "\n" not in line
    assert f"run {suppliers} not rolled back" in line
    assert f"run {invoices}: ap_invoices (43 rows -> supplier keys)" in line
    assert f"migrate rollback {suppliers} --cascade" in line
    assert rows(staging, 'SELECT COUNT(*) FROM "SUPPLIERS"')[0][0] == 38  # nothing removed

    first = keys(staging, "supplier", "finance")
    assert cascade_plan(settings, suppliers) == [invoices, suppliers]
    done = rollback_cascade(settings, suppliers)
    assert [r for r, _ in done] == [invoices, suppliers]
    assert done[0][1]["AP_INVOICES_INTERFACE"] == 43 and done[1][1]["SUPPLIERS"] == 38
    statuses = dict(rows(staging, 'SELECT "RUN_ID", "STATUS" FROM "MIG_RUNS"'))
    assert statuses == {suppliers: "rolled_back", invoices: "rolled_back"}
    logged = [e["payload"] for _, e in audit.read_entries(audit.log_path(settings))]
    rolled = [p["run_id"] for p in logged if "removed" in p]
    assert rolled == [invoices, suppliers]  # each audited, dependents first

    # other suppliers staged next get keys the rolled-back run never had
    run(settings, "suppliers_procurement")
    later = keys(staging, "supplier", "procurement")
    assert later and min(later.values()) > max(first.values())
    # and a re-run of the same suppliers too: a key once issued is never issued again
    run(settings, "suppliers_finance")
    again = keys(staging, "supplier", "finance")
    assert not set(again.values()) & set(first.values())
    assert orphans(staging) == {}
    with pytest.raises(RunStateError, match=f"run {suppliers} was already rolled back on "):
        rollback_run(settings, suppliers)


def test_hr_workers_are_not_rolled_back_under_their_accounts_salaries_and_payroll(
    staging: str, tmp_path: Path
) -> None:
    settings = load_settings(tmp_path)
    workers = run(settings, "workers")
    pay = run(settings, "bank_accounts", "salaries", "payroll_history")
    counts = {
        t: rows(staging, f'SELECT COUNT(*) FROM "{t}"')[0][0]
        for t in ("WORKER_BANK_ACCOUNTS", "SALARIES", "PAYROLL_HISTORY")
    }
    assert all(n for n in counts.values()), counts
    with pytest.raises(RunStateError) as refused:
        rollback_run(settings, workers)
    line = str(refused.value)
    for entity, table in [
        ("bank_accounts", "WORKER_BANK_ACCOUNTS"),
        ("salaries", "SALARIES"),
        ("payroll_history", "PAYROLL_HISTORY"),
    ]:
        assert f"{entity} ({counts[table]:,} rows -> worker keys)" in line, line
    assert f"run {pay}: " in line
    assert orphans(staging) == {}
    done = rollback_cascade(settings, workers)
    assert [r for r, _ in done] == [pay, workers]
    assert orphans(staging) == {}
    assert rows(staging, 'SELECT COUNT(*) FROM "PAYROLL_HISTORY"') == [(0,)]
    # the key space's mark survived the rollback: the next workers get new numbers
    mark = rows(staging, 'SELECT "LAST_ERP_KEY" FROM "MIG_KEY_SPACES" WHERE "DOMAIN" = \'worker\'')
    run(settings, "workers")
    new = [int(str(v)) for v in keys(staging, "worker", "hr").values()]
    assert min(new) > int(str(mark[0][0]))


def test_a_merged_supplier_holds_back_the_run_it_merged_into(tmp_path: Path) -> None:
    """Suppliers from procurement that merge into finance's records keep finance's keys in
    their key-map entries: rolling finance back would leave those entries pointing nowhere."""
    settings = load_settings(tmp_path)
    build_estate(
        {k: settings.url(k) for k in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=3,
    )
    finance = run(settings, "suppliers_finance")
    procurement = run(settings, "suppliers_procurement")
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    merged = rows(
        url, "SELECT COUNT(*) FROM MIG_FILTERED WHERE RULE = 'merged_into_existing_record'"
    )
    assert merged[0][0] > 0
    with pytest.raises(RunStateError, match=rf"run {procurement}: key map \(\d+ procurement"):
        rollback_run(settings, finance)
    rollback_run(settings, procurement)  # nothing refers to it
    rollback_run(settings, finance)


def test_rolling_back_a_run_again_says_it_was_rolled_back(tmp_path: Path) -> None:
    settings = load_settings(tmp_path)
    build_estate(
        {k: settings.url(k) for k in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=3,
    )
    first = run(settings, "suppliers_finance")
    rollback_run(settings, first)
    ended = rows(f"sqlite:///{tmp_path / 'staging.db'}", "SELECT ENDED_AT FROM MIG_RUNS")
    with pytest.raises(RunStateError, match=f"^run {first} was already rolled back on 20"):
        rollback_run(settings, first)
    with pytest.raises(RunStateError, match="already rolled back"):
        rollback_cascade(settings, first)
    assert rows(f"sqlite:///{tmp_path / 'staging.db'}", "SELECT ENDED_AT FROM MIG_RUNS") == ended


ENTITY_SETS = [
    ["suppliers_finance"],
    ["suppliers_procurement"],
    ["ap_invoices"],
    ["ap_invoice_lines"],
    ["workers"],
    ["bank_accounts", "salaries"],
]


@pytest.mark.parametrize("seed", [1, 2])
def test_property_no_staged_row_refers_to_a_missing_or_reissued_key(
    tmp_path: Path, seed: int
) -> None:
    """Any sequence of runs and rollbacks (plain, refused or cascading): no staged row refers
    to a key the map does not hold, and a key that left the map never comes back."""
    settings = load_settings(tmp_path)
    build_estate(
        {k: settings.url(k) for k in ("finance", "hr", "procurement")},
        tmp_path / "extracts",
        scale=200,
        seed=seed,
    )
    url = f"sqlite:///{tmp_path / 'staging.db'}"
    rnd = random.Random(seed)
    live: list[str] = []
    before: set[tuple[str, int]] = set()
    left: set[tuple[str, int]] = set()  # keys that were in the map and are no longer
    for _step in range(9):
        if live and rnd.random() < 0.4:
            victim = rnd.choice(live)
            if rnd.random() < 0.5:
                gone = [r for r, _ in rollback_cascade(settings, victim)]
            else:
                try:
                    rollback_run(settings, victim)
                    gone = [victim]
                except RunStateError as refused:
                    assert "not rolled back: other runs refer" in str(refused)
                    gone = []
            live = [r for r in live if r not in gone]
        else:
            live.append(run(settings, *rnd.choice(ENTITY_SETS)))
        now = {
            (str(d), int(str(k)))
            for d, k in rows(url, 'SELECT "DOMAIN", "ERP_KEY" FROM "MIG_KEY_MAP"')
        }
        assert orphans(url) == {}
        back = now & left
        assert not back, f"keys issued again after a rollback: {sorted(back)[:5]}"
        left |= before - now
        before = now
