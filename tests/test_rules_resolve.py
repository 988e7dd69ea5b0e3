"""The "every reference resolves" rule: exactly as strict as text equality, served by an index.

A staged reference resolves only when its text equals, as text, an ERP key issued in
``MIG_KEY_MAP`` for the lookup's domain. Each test plants references that look like a key
but are not one (``"1.0"``, ``" 1"``, ``"01"``, a key of another domain) and sees the rule
count exactly those rows, on SQLite, PostgreSQL and MariaDB. The query finds its candidate
through the ``(DOMAIN, ERP_KEY)`` index (``rules.py`` says why); on SQLite the plan is held
to that, since the unindexed form ran for hours at the scale-200000 estate.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import BigInteger, Column, Engine, String, Table, create_engine, event

from migrate.spec.model import EntitySpec
from migrate.staging.tables import build_metadata
from reconcile.proving.rules import check_rules
from reconcile.reading.staging_side import Staging
from reconcile.report import RuleResult

SPEC = EntitySpec.model_validate(
    {
        "entity": "refs",
        "domain": "finance",
        "source": {"system": "finance", "table": "LEGACY_REFS", "key": ["ID"]},
        "target": {"table": "RULE_REFS", "key": ["MIG_SOURCE_KEY"]},
        "fields": {
            "REF_TEXT": {"lookup": {"domain": "supplier", "from": ["VND"]}},
            "REF_NUM": {"lookup": {"domain": "supplier", "from": ["VND"]}},
        },
    }
)
MAX = 9223372036854775807
# (text reference, resolves?): every way a text can look like key 1 without being it
TEXTS = [
    ("1", True),
    ("2", True),
    (str(MAX), True),  # the widest key there is still resolves
    ("1.0", False),
    (" 1", False),
    ("1 ", False),
    ("1\n", False),
    ("01", False),
    ("+1", False),
    ("-1", False),
    ("7", False),  # issued, but for the worker domain
    ("3", False),  # never issued
    ("x", False),
    ("", False),
    ("99999999999999999999", False),  # beyond BIGINT: no candidate, and no failed cast
    ("9223372036854775808", False),
    ("-9223372036854775809", False),
]
NUMBERS = [(1, True), (2, True), (7, False), (3, False)]


def _plant(engine: Engine) -> None:
    md = build_metadata()
    refs = Table(
        "RULE_REFS",
        md,
        Column("MIG_SOURCE_KEY", String(40)),
        Column("MIG_RUN_ID", String(36)),
        Column("MIG_ENTITY", String(120)),
        Column("REF_TEXT", String(40)),
        Column("REF_NUM", BigInteger),
    )
    key_map = md.tables["MIG_KEY_MAP"]
    md.create_all(engine, tables=[refs, key_map])
    keys = [("supplier", 1), ("supplier", 2), ("supplier", MAX), ("worker", 7)]
    # all in run R1, and each one alone in a run of its own (T0, T1, ..., N0, N1, ...)
    rows = [("R1", "t", v, None) for v, _ in TEXTS] + [("R1", "n", None, v) for v, _ in NUMBERS]
    rows += [(f"T{i}", "t", v, None) for i, (v, _) in enumerate(TEXTS)]
    rows += [(f"N{i}", "n", None, v) for i, (v, _) in enumerate(NUMBERS)]
    # the same bad references in another run and in another entity: never counted here
    others = [("R0", "refs", "1.0", 3), ("R1", "other", " 1", 3)]
    with engine.begin() as conn:
        conn.execute(
            key_map.insert(),
            [
                {"DOMAIN": d, "SOURCE_SYSTEM": "finance", "LEGACY_KEY": str(k), "ERP_KEY": k}
                | {"RUN_ID": "R1"}
                for d, k in keys
            ],
        )
        conn.execute(
            refs.insert(),
            [
                {"MIG_SOURCE_KEY": f"{kind}{i}", "MIG_RUN_ID": run, "MIG_ENTITY": "refs"}
                | {"REF_TEXT": t, "REF_NUM": n}
                for i, (run, kind, t, n) in enumerate(rows)
            ]
            + [
                {"MIG_SOURCE_KEY": f"o{i}", "MIG_RUN_ID": run, "MIG_ENTITY": entity}
                | {"REF_TEXT": t, "REF_NUM": n}
                for i, (run, entity, t, n) in enumerate(others)
            ],
        )


def _rules(engine: Engine, run: str = "R1") -> dict[str, RuleResult]:
    return {r.rule.split(" ")[0]: r for r in check_rules(Staging(engine, None, run), SPEC)}


def _sees_exactly_the_planted(engine: Engine) -> None:
    _plant(engine)
    rules = _rules(engine)
    by_text, by_number = rules["REF_TEXT"], rules["REF_NUM"]
    assert by_text.violations == sum(not ok for _, ok in TEXTS), by_text.detail
    assert by_number.violations == 2, by_number.detail
    assert by_number.detail == "not an issued supplier key: '3', '7'"
    wrong = [
        value
        for i, (value, ok) in enumerate(TEXTS)
        if _rules(engine, f"T{i}")["REF_TEXT"].violations != (0 if ok else 1)
    ]
    wrong += [
        value
        for i, (value, ok) in enumerate(NUMBERS)
        if _rules(engine, f"N{i}")["REF_NUM"].violations != (0 if ok else 1)
    ]
    assert not wrong, f"judged wrongly, alone in a run: {wrong!r}"
    assert repr(" 1") in _rules(engine, f"T{[v for v, _ in TEXTS].index(' 1')}")["REF_TEXT"].detail


def test_only_the_text_of_an_issued_key_resolves_sqlite(tmp_path: Path) -> None:
    _sees_exactly_the_planted(create_engine(f"sqlite:///{tmp_path / 'staging.db'}"))


@pytest.mark.db
def test_only_the_text_of_an_issued_key_resolves_postgresql(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        _sees_exactly_the_planted(engine)
    finally:
        engine.dispose()


@pytest.mark.db
def test_only_the_text_of_an_issued_key_resolves_mariadb(mysql_url: str) -> None:
    engine = create_engine(mysql_url)
    try:
        _sees_exactly_the_planted(engine)
    finally:
        engine.dispose()


def test_the_key_map_is_searched_through_its_index_sqlite(tmp_path: Path) -> None:
    """Not a timing: the plan of the query the rule runs. Each staged row probes
    ``(DOMAIN, ERP_KEY)`` once instead of scanning the domain's keys (the scan is what made
    the rule quadratic)."""
    engine = create_engine(f"sqlite:///{tmp_path / 'staging.db'}")
    _plant(engine)
    seen: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _keep(_conn: Any, _cursor: Any, sql: str, params: object, *_: Any) -> None:
        if "MIG_KEY_MAP" in sql:
            seen.append((sql, params))

    _rules(engine)
    assert len(seen) == 2
    with engine.connect() as conn:
        for sql, params in seen:
            cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            plan = " | ".join(
                str(r[-1]) for r in cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            )
            assert "INDEX ix_mig_key_map_domain_erp (DOMAIN=? AND ERP_KEY=?)" in plan, plan
            assert "SCAN k" not in plan, plan
