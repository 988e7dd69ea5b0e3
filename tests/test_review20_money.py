"""Review of issue 20 (money in floats): a NaN amount in a PostgreSQL ``double precision``
column is not a blank, yet both sides read it as one ("NaN is no value"). The pipeline still
does (pandas holds NULL and NaN alike): it stages the row without an amount (here the target
column is required, so it is rejected as ``required_missing``; a nullable column would be
staged NULL).
Reconciliation now reads NaN apart from NULL (the driver gives ``float('nan')``) and says
the value is not an amount (unverified), as it does for infinity: the entity FAILs for it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from reconcile.report import PASS
from tests.test_money_policy_verdict import DESK, PAY, entity, run_and_reconcile

pytestmark = pytest.mark.db


def _legacy(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    'CREATE TABLE "PAY" ("EMP_ID" INTEGER, "EMP_NAME" VARCHAR(40), '
                    '"SALARY" numeric(19,4))'
                )  # fmt: skip
            )
            conn.execute(
                text(
                    'CREATE TABLE "PAYDESK" ("EMP_ID" INTEGER, "EMP_NAME" VARCHAR(40), '
                    '"GROSS" double precision)'
                )  # fmt: skip
            )
            conn.execute(
                text('INSERT INTO "PAY" VALUES (:i, :n, CAST(:v AS numeric))'),
                [{"i": i, "n": n, "v": v} for i, n, v in PAY],
            )
            conn.execute(
                text('INSERT INTO "PAYDESK" VALUES (:i, :n, :v)'),
                [{"i": i, "n": n, "v": v} for i, n, v in [*DESK, (7, "Gil", float("nan"))]],
            )
    finally:
        engine.dispose()
    return {"hr": url, "finance": url}


def test_a_nan_amount_is_not_a_blank(tmp_path: Path, pg_url: str, staging_pg: str) -> None:
    report = run_and_reconcile(tmp_path, _legacy(pg_url), staging=staging_pg)
    d = entity(report, "pay_desktop")
    (g,) = d.measures
    # HEAD: Gil rejected as required_missing with "gross 0"; unreadable 0, measure PASS
    assert g.unreadable == 1 and g.status != PASS, (d.rejects, g.unreadable, g.status)


def test_a_nan_amount_staged_as_null_is_not_a_pass(
    tmp_path: Path, pg_url: str, staging_pg: str
) -> None:
    from migrate.config import Settings
    from migrate.runs.runner import run_migration
    from migrate.spec.loader import load_project
    from reconcile.run import reconcile_run
    from tests.test_money_policy_verdict import write_project

    mappings = write_project(tmp_path)
    desk = mappings / "hr" / "pay_desktop.yaml"
    desk.write_text(
        desk.read_text()
        .replace(
            "  ANNUAL_SALARY: {from: GROSS, steps: [{money: float}]}",
            "  ANNUAL_SALARY: {const: 0}\n  GROSS_PAY: {from: GROSS, steps: [{money: float}]}",
        )
        .replace("target_column: ANNUAL_SALARY", "target_column: GROSS_PAY")
    )
    s = Settings(urls={"staging": staging_pg, **_legacy(pg_url)}, workdir=tmp_path)
    run = run_migration(s, mappings, "full", entities=["pay_desktop"])
    report = reconcile_run(s, load_project(mappings), run.run_id)
    d = entity(report, "pay_desktop")
    # HEAD: 5 staged (Gil's GROSS_PAY NULL), 2,329.89 = 2,329.89, unreadable 0, PASS
    assert d.status != PASS, (d.staged_rows, d.measures[0].unreadable)
