"""A run of an entity whose parents are not staged says so before its first chunk."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.db import writable_engine
from migrate.runs.preflight import unanswered_lookups
from migrate.runs.runner import run_migration
from migrate.spec.loader import load_project
from migrate.staging.create import ensure_staging
from tests.test_pipeline import MAPPINGS, make_estate


def _messages(workdir: Path, entities: list[str]) -> list[str]:
    settings = load_settings(workdir)
    md = ensure_staging(settings.url("staging"))
    engine = writable_engine(settings.url("staging"))
    try:
        return unanswered_lookups(load_project(MAPPINGS, entities), engine, md)
    finally:
        engine.dispose()


def test_parents_neither_in_the_run_nor_staged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_estate(tmp_path, scale=200, seed=13)
    (message,) = _messages(tmp_path, ["ap_invoices"])
    assert message.startswith("ap_invoices looks up supplier keys of finance")
    assert "run suppliers_finance first" in message  # procurement's suppliers cannot answer
    assert _messages(tmp_path, ["suppliers_finance", "ap_invoices"]) == []  # same run
    # keys are looked up by domain and system: procurement's suppliers answer nothing here
    assert len(_messages(tmp_path, ["suppliers_procurement", "ap_invoices"])) == 1
    run_migration(load_settings(tmp_path), MAPPINGS, "full", ["suppliers_procurement"])
    assert len(_messages(tmp_path, ["ap_invoices"])) == 1
    with caplog.at_level(logging.WARNING, logger="migrate.runner"):
        summary = run_migration(load_settings(tmp_path), MAPPINGS, "full", ["ap_invoices"])
    assert summary.totals["loaded"] == 0  # what the warning announced
    assert "ap_invoices looks up supplier keys of finance" in caplog.text
    run_migration(load_settings(tmp_path), MAPPINGS, "full", ["suppliers_finance"])
    assert _messages(tmp_path, ["ap_invoices"]) == []  # staged by an earlier run
