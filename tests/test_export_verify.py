"""``migrate export verify`` on a SQLite demo run: what the proof of exported files catches.
A changed byte (anywhere in a ZIP), a changed amount, a missing file, a manifest rewritten
to match, staging changed after the export (a total, a text), an exporter that garbles a
value or moves amounts between rows, files of a run rolled back since: FAIL; a layout gone:
NOT VERIFIED, never PASS. The proof never imports the exporter."""

from __future__ import annotations

import ast
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.export import ColumnFormat, export_run, render
from reconcile.exported import verify_export
from tests.test_export import Run, copy_of, make_run

RECONCILE = Path(__file__).resolve().parents[1] / "reconcile"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Run:
    return make_run(tmp_path_factory, realdata)


def test_a_changed_byte_fails(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=run.layouts)
    data = bytearray((out / "GlInterface.zip").read_bytes())
    data[len(data) // 2] ^= 0x01
    (out / "GlInterface.zip").write_bytes(bytes(data))
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    assert any("GlInterface.zip: changed since the export" in t for _, t in report.findings)


def test_a_changed_amount_in_a_csv_fails_with_what_differs(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "csv"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    path = out / "AP_PAYMENTS.csv"
    text = path.read_text(encoding="utf-8")
    line = text.splitlines()[1]
    amount = line.split(",")[4]
    changed = amount[:-1] + ("1" if amount[-1] != "1" else "2")
    path.write_text(text.replace(line, line.replace(amount, changed, 1), 1), encoding="utf-8")
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    found = " | ".join(t for _, t in report.findings)
    assert "AP_PAYMENTS.csv: changed since the export" in found
    assert "AMOUNT total" in found and "in staging" in found
    said = [t for _, t in report.findings if "changed" in t]  # a plain CSV is its own bytes
    assert said == [t for _, t in report.findings if t.startswith("AP_PAYMENTS.csv: changed")]
    assert len(said) == 1, said


def test_a_missing_file_fails(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "fbdi"
    export_run(settings, run.run_id, out, layouts=run.layouts)
    (out / "PoHeadersInterfaceOrder.zip").unlink()
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    assert ("FAIL", "PoHeadersInterfaceOrder.zip: missing (the manifest lists it)") in (
        report.findings
    )


def test_a_manifest_rewritten_to_match_fails_on_the_audit_log(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "csv"
    export_run(settings, run.run_id, out, fmt="csv", tables=["WORKERS"])
    manifest = json.loads((out / "export_manifest.json").read_text(encoding="utf-8"))
    manifest["files"][0]["datasets"][0]["rows"] += 1
    (out / "export_manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    assert any("manifest changed since the export" in t for _, t in report.findings)


def test_what_cannot_be_read_is_not_verified_never_pass(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    layouts = tmp_path / "layouts"
    shutil.copytree(run.layouts, layouts)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=layouts)
    (layouts / "GL_INTERFACE.columns.csv").unlink()
    report = verify_export(settings, out)
    assert report.verdict == "NOT VERIFIED"
    assert any("cannot be read" in t and "is missing" in t for _, t in report.findings)
    assert verify_export(settings, out, layouts=run.layouts).verdict == "PASS"  # moved
    (out / "export_manifest.json").unlink()
    assert verify_export(settings, out).verdict == "NOT VERIFIED"


def test_staging_changed_after_the_export_fails(run: Run, tmp_path: Path) -> None:
    settings = copy_of(run, tmp_path)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=run.layouts)
    with sqlite3.connect(settings.workdir / "staging.db") as conn:
        conn.execute("UPDATE GL_INTERFACE SET ENTERED_DR = ENTERED_DR + 1 WHERE ENTERED_DR > 0")
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    assert any("ENTERED_DR total" in t and "in staging" in t for _, t in report.findings)


def test_the_proof_never_imports_the_exporter() -> None:
    for path in sorted(RECONCILE.rglob("exported*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
            a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
        }
        assert not any(n.startswith("migrate.export") for n in names), path


def test_a_text_changed_in_staging_after_the_export_fails(run: Run, tmp_path: Path) -> None:
    """Counts and totals hold; the values do not."""
    settings = copy_of(run, tmp_path)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=run.layouts)
    with sqlite3.connect(settings.workdir / "staging.db") as conn:
        conn.execute(
            "UPDATE GL_INTERFACE SET REFERENCE10 = 'CHANGED' WHERE REFERENCE21 = "
            "(SELECT MIN(REFERENCE21) FROM GL_INTERFACE)"
        )
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    assert (
        "FAIL",
        "GlInterface.zip/GlInterface.csv: the values of REFERENCE10 are not staging's",
    ) in report.findings


def test_an_exporter_that_writes_a_wrong_value_is_caught(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The proof does not trust the exporter: a text it garbled, with a manifest and an
    audit entry that agree with the garbled file, still FAILs against staging."""

    def garbled(value: object, fmt: ColumnFormat) -> str:
        text = render(value, fmt)
        return text.lower() if fmt.name == "LAST_NAME" else text

    monkeypatch.setattr("migrate.export.rows.render", garbled)
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "hr", fmt="csv", tables=["WORKERS"])
    report = verify_export(settings, tmp_path / "hr")
    assert report.verdict == "FAIL"
    assert any("the values of LAST_NAME are not staging's" in t for _, t in report.findings)


def test_amounts_moved_between_rows_are_caught(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two rows' amounts swapped: every count, total and column holds; the rows do not."""
    from migrate.export.staged import StagedRun

    real = StagedRun.rows

    def swapped(self: StagedRun, name: str, columns: list[str]) -> object:
        rows = list(real(self, name, columns))
        a, b = next(i for i, r in enumerate(rows) if r["AMOUNT"] != rows[0]["AMOUNT"]), 0
        rows[a]["AMOUNT"], rows[b]["AMOUNT"] = rows[b]["AMOUNT"], rows[a]["AMOUNT"]
        return iter(rows)

    monkeypatch.setattr(StagedRun, "rows", swapped)
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "ap", fmt="csv", tables=["AP_PAYMENTS"])
    report = verify_export(settings, tmp_path / "ap")
    assert report.verdict == "FAIL"
    assert any("values moved between rows" in t for _, t in report.findings)


def test_any_flipped_byte_fails_and_never_crashes(run: Run, tmp_path: Path) -> None:
    """One byte flipped at 16 places of a ZIP (headers, compressed data, directory): FAIL, each
    time, with a finding, never an exception."""
    settings = load_settings(run.workdir)
    out = tmp_path / "po"
    export_run(settings, run.run_id, out, tables=["PO_LINES_INTERFACE"], layouts=run.layouts)
    path = out / "PoHeadersInterfaceOrder.zip"
    original = path.read_bytes()
    for at in range(0, len(original), max(1, len(original) // 16)):
        data = bytearray(original)
        data[at] ^= 0x20
        path.write_bytes(bytes(data))
        report = verify_export(settings, out, record=False)
        assert report.verdict == "FAIL", (at, report.lines())
    path.write_bytes(original)
    assert verify_export(settings, out, record=False).verdict == "EXCEPTIONS"


def test_files_of_a_run_rolled_back_since_fail(run: Run, tmp_path: Path) -> None:
    settings = copy_of(run, tmp_path)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=run.layouts)
    with sqlite3.connect(settings.workdir / "staging.db") as conn:
        conn.execute("DELETE FROM GL_INTERFACE")
        conn.execute("UPDATE MIG_RUNS SET STATUS = 'rolled_back'")
    report = verify_export(settings, out)
    assert report.verdict == "FAIL"
    assert any("was rolled back" in t for _, t in report.findings)
    log = (settings.workdir / "artifacts" / "audit.log").read_text(encoding="utf-8")
    last = json.loads(log.splitlines()[-1])
    assert last["kind"] == "export_verified" and last["payload"]["verdict"] == "FAIL"
