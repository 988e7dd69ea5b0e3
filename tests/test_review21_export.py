"""Review of issue 21's export proof: ways to make ``migrate export verify`` say PASS while
the files differ from staging or lose data. Each test plants one; a wrong PASS is the defect
looked for (a finished proof must say FAIL, or NOT VERIFIED with the reason)."""

from __future__ import annotations

import csv
import io
import sqlite3
import zipfile
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.export import export_run
from reconcile.exported import verify_export
from tests.test_export import Run, copy_of, make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Run:
    return make_run(tmp_path_factory, realdata)


def _sql(settings: object, *statements: str) -> None:
    with sqlite3.connect(settings.workdir / "staging.db") as conn:  # type: ignore[attr-defined]
        for sql in statements:
            conn.execute(sql)


FIRST = "(SELECT MIN(rowid) FROM AP_PAYMENTS)"


def test_staging_changed_by_less_than_a_cent_after_the_export_is_no_pass(
    run: Run, tmp_path: Path
) -> None:
    """SQLite keeps money as integer cents; an UPDATE adding 0.4 cent stores a REAL, which
    the Money type and the cents sum both truncated back to the exported value: PASS while
    staging no longer holds what the file says (found; seen PASS before the fix)."""
    settings = copy_of(run, tmp_path)
    out = tmp_path / "ap"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    _sql(settings, f"UPDATE AP_PAYMENTS SET AMOUNT = AMOUNT + 0.4 WHERE rowid = {FIRST}")
    report = verify_export(settings, out)
    assert report.verdict in ("FAIL", "NOT VERIFIED"), report.lines()
    assert any("AMOUNT" in t and "whole cents" in t for _, t in report.findings)


def test_a_text_in_a_money_column_is_not_verified_never_a_crash(run: Run, tmp_path: Path) -> None:
    settings = copy_of(run, tmp_path)
    out = tmp_path / "ap"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    _sql(settings, f"UPDATE AP_PAYMENTS SET AMOUNT = '12x' WHERE rowid = {FIRST}")
    report = verify_export(settings, out)
    assert report.verdict in ("FAIL", "NOT VERIFIED"), report.lines()


def test_money_beyond_two_to_the_53_cents_is_exact_both_ways(run: Run, tmp_path: Path) -> None:
    """Large amounts never go through a float: written and proven to the cent."""
    big = 2**53 + 1  # cents: 90,071,992,547,409.93
    settings = copy_of(run, tmp_path)
    _sql(settings, f"UPDATE AP_PAYMENTS SET AMOUNT = {big} WHERE rowid = {FIRST}")
    out = tmp_path / "ap"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    with (out / "AP_PAYMENTS.csv").open(encoding="utf-8", newline="") as fh:
        amounts = [r["AMOUNT"] for r in csv.DictReader(fh)]
    assert "90071992547409.93" in amounts
    assert verify_export(settings, out).verdict == "PASS"
    _sql(settings, f"UPDATE AP_PAYMENTS SET AMOUNT = {big + 1} WHERE rowid = {FIRST}")
    assert verify_export(settings, out).verdict == "FAIL"  # one cent, past float's reach


def test_commas_quotes_and_line_breaks_round_trip_and_prove(run: Run, tmp_path: Path) -> None:
    """A value with a comma, a quote and a line break is carried, and a change to its
    quoting is caught as a changed file."""
    settings = copy_of(run, tmp_path)
    value = 'Smith, "Jr."\nline two'
    _sql(settings, f"UPDATE WORKERS SET LAST_NAME = '{value.replace(chr(39), chr(39) * 2)}' "
         "WHERE rowid = (SELECT MIN(rowid) FROM WORKERS)")  # fmt: skip
    out = tmp_path / "hr"
    export_run(settings, run.run_id, out, fmt="csv", tables=["WORKERS"])
    with (out / "WORKERS.csv").open(encoding="utf-8", newline="") as fh:
        assert value in [r["LAST_NAME"] for r in csv.DictReader(fh)]
    assert verify_export(settings, out).verdict == "PASS"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda b: b.replace(b"\n", b"\r\n"), id="crlf"),
        pytest.param(lambda b: b"\xef\xbb\xbf" + b, id="bom"),
        pytest.param(lambda b: b + b"\n", id="trailing-empty-line"),
    ],
)
def test_bytes_that_read_as_the_same_values_still_fail(
    run: Run, tmp_path: Path, change: object
) -> None:
    """CRLF, a BOM, an empty line at the end: csv may read the same values, the file is not
    the one written (the ERP's loader may not read it the same): FAIL."""
    settings = load_settings(run.workdir)
    out = tmp_path / "ap"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    path = out / "AP_PAYMENTS.csv"
    path.write_bytes(change(path.read_bytes()))  # type: ignore[operator]
    assert verify_export(settings, out).verdict == "FAIL"


def test_a_zip_with_an_extra_or_duplicated_member_fails(run: Run, tmp_path: Path) -> None:
    settings = load_settings(run.workdir)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=run.layouts)
    path = out / "GlInterface.zip"
    with zipfile.ZipFile(path) as zf:
        data = zf.read("GlInterface.csv")
    with zipfile.ZipFile(path, "a") as zf, pytest.warns(UserWarning):
        zf.writestr("GlInterface.csv", data.splitlines(keepends=True)[0])  # a second member
    report = verify_export(settings, out)
    assert report.verdict == "FAIL", report.lines()


def test_a_row_duplicated_and_another_dropped_by_the_exporter_fails(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same row count, a manifest and an audit entry that agree with the file: the values
    say otherwise."""
    from migrate.export.staged import StagedRun

    real = StagedRun.rows

    def doubled(self: StagedRun, name: str, columns: list[str]) -> object:
        rows = list(real(self, name, columns))
        rows[-1] = dict(rows[0])
        return iter(rows)

    monkeypatch.setattr(StagedRun, "rows", doubled)
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "hr", fmt="csv", tables=["WORKERS"])
    report = verify_export(settings, tmp_path / "hr")
    assert report.verdict == "FAIL", report.lines()


def test_two_values_swapped_across_columns_by_the_exporter_fail(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from migrate.export.staged import StagedRun

    real = StagedRun.rows

    def swapped(self: StagedRun, name: str, columns: list[str]) -> object:
        rows = list(real(self, name, columns))
        r = rows[0]
        r["FIRST_NAME"], r["LAST_NAME"] = r["LAST_NAME"], r["FIRST_NAME"]
        return iter(rows)

    monkeypatch.setattr(StagedRun, "rows", swapped)
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "hr", fmt="csv", tables=["WORKERS"])
    report = verify_export(settings, tmp_path / "hr")
    assert report.verdict == "FAIL", report.lines()


def test_a_column_the_csv_export_lost_without_saying_so_fails(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generic CSV carries every column; an exporter that drops one without listing it
    in the manifest's ``left_out`` lost data: FAIL, not an exception to accept (found;
    seen EXCEPTIONS before the fix)."""
    from dataclasses import replace

    import migrate.export.run as export_run_module

    real = export_run_module.csv_dataset

    def lossy(*args: object, **kwargs: object) -> object:
        ds = real(*args, **kwargs)  # type: ignore[arg-type]
        i = (ds.header or []).index("LAST_NAME")
        return replace(ds, fields=ds.fields[:i] + ds.fields[i + 1 :],
                       header=(ds.header or [])[:i] + (ds.header or [])[i + 1 :])  # fmt: skip

    monkeypatch.setattr(export_run_module, "csv_dataset", lossy)
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "hr", fmt="csv", tables=["WORKERS"])
    report = verify_export(settings, tmp_path / "hr")
    assert report.verdict == "FAIL", report.lines()
    assert any("LAST_NAME" in t and "not declared" in t for _, t in report.findings)


def test_csv_reads_the_same_values_quoted_or_not() -> None:
    """Why the byte hash matters: csv reads a quoted and an unquoted field alike."""
    quoted = next(csv.reader(io.StringIO('"A","1.00"\n')))
    assert quoted == next(csv.reader(io.StringIO("A,1.00\n")))


def test_a_file_and_manifest_rewritten_and_the_audit_line_edited_is_no_pass(
    run: Run, tmp_path: Path
) -> None:
    """The log's record of the manifest counts only if the log's hash chain holds: a file
    rewritten (CRLF: csv reads the same values), its manifest rewritten to match and the
    ``export_written`` line edited in place to the new hash was PASS (found; seen PASS
    before the fix)."""
    import hashlib
    import json

    settings = copy_of(run, tmp_path)
    out = tmp_path / "ap"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    path, manifest_path = out / "AP_PAYMENTS.csv", out / "export_manifest.json"
    old_manifest = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    data = path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    path.write_bytes(data)
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    sha = hashlib.sha256(data).hexdigest()
    manifest["files"][0]["sha256"] = manifest["files"][0]["datasets"][0]["sha256"] = sha
    manifest["files"][0]["size"] = len(data)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    new_manifest = hashlib.sha256(manifest_path.read_bytes()).hexdigest()
    log = settings.workdir / "artifacts" / "audit.log"
    log.write_text(log.read_text(encoding="utf-8").replace(old_manifest, new_manifest))
    report = verify_export(settings, out)
    assert report.verdict != "PASS", report.lines()
    assert any("hash chain" in t for _, t in report.findings)


def test_verify_says_what_the_runs_own_reconciliation_said(run: Run, tmp_path: Path) -> None:
    """Hidden problem: a PASS of the files against staging read as a go for a run whose
    reconciliation against the legacy failed (the demo's run: FAIL, export verify PASS with
    nothing said). The verdict stays the files' own; a note says the run's."""
    from migrate.audit import log as audit

    settings = copy_of(run, tmp_path)
    out = tmp_path / "ap"
    export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    report = verify_export(settings, out)
    assert report.verdict == "PASS"
    assert any("no reconciliation recorded" in n for n in report.notes)
    audit.record_reconciliation(settings, run.run_id, "FAIL", "0" * 64, number=1)
    report = verify_export(settings, out)
    assert f"note: run {run.run_id}: reconciliation 1 says FAIL" in "\n".join(report.lines())


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(
            "UPDATE GL_INTERFACE SET ACCOUNTING_DATE = date(ACCOUNTING_DATE, '+1 day') "
            "WHERE rowid = (SELECT MIN(rowid) FROM GL_INTERFACE)",
            id="a-date-moved-a-day",
        ),
        pytest.param(
            "UPDATE GL_INTERFACE SET REFERENCE10 = REFERENCE10 || char(769) "
            "WHERE rowid = (SELECT MIN(rowid) FROM GL_INTERFACE)",
            id="a-combining-accent-added",
        ),
        pytest.param(
            "UPDATE GL_INTERFACE SET REFERENCE10 = REFERENCE10 || ' ' "
            "WHERE rowid = (SELECT MIN(rowid) FROM GL_INTERFACE)",
            id="a-trailing-space",
        ),
    ],
)
def test_staging_changed_invisibly_after_the_export_fails(
    run: Run, tmp_path: Path, statement: str
) -> None:
    """Changes a reader cannot see (a date a day off, a combining accent, a trailing space)
    with every count and total unchanged: the value digests catch them."""
    settings = copy_of(run, tmp_path)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"], layouts=run.layouts)
    _sql(settings, statement)
    report = verify_export(settings, out)
    assert report.verdict == "FAIL", report.lines()
    assert any("are not staging's" in t for _, t in report.findings)


def test_the_exporter_refuses_money_staging_does_not_hold_as_exact_cents(
    run: Run, tmp_path: Path
) -> None:
    """The same REAL read by the exporter was truncated to the cent and written (the file
    said 36423.10 for 3,642,310.4 cents): something cut, silently (found; seen writing the
    file before the fix). Now the export fails naming the row and column; nothing written."""
    from migrate.export import ExportFailed

    settings = copy_of(run, tmp_path)
    _sql(settings, f"UPDATE AP_PAYMENTS SET AMOUNT = AMOUNT + 0.4 WHERE rowid = {FIRST}")
    out = tmp_path / "ap"
    with pytest.raises(ExportFailed) as failed:
        export_run(settings, run.run_id, out, fmt="csv", tables=["AP_PAYMENTS"])
    assert any(
        "column AMOUNT" in str(p) and "integer cents" in str(p) for p in failed.value.problems
    ), [str(p) for p in failed.value.problems]
    assert not out.exists()


def test_verify_names_the_tables_of_the_run_no_file_carries(run: Run, tmp_path: Path) -> None:
    """Hidden problem: the FBDI export of a whole run leaves eleven of the demo's tables
    behind (no layout); the export said so once, verify's PASS never did."""
    settings = load_settings(run.workdir)
    out = tmp_path / "hr"
    export_run(settings, run.run_id, out, fmt="csv", tables=["WORKERS"])
    report = verify_export(settings, out, record=False)
    assert report.verdict == "PASS"
    behind = next(n for n in report.notes if "no file here carries" in n)
    assert "SALARIES (" in behind and "WORKERS (" not in behind
