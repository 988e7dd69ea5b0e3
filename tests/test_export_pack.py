"""``migrate export --format fbdi`` from the shipped pack alone, without the vendor's layouts.

The pack generated from Oracle's layouts carries what an FBDI file needs (each column's
position and hint, each record's number of fields, each table's ZIP and member), so an
installed tool writes the same bytes as an export that reads the layout files. The proof
(``export verify``) still reads the vendor's layout files with its own code: without them
it says NOT VERIFIED and what is missing, never PASS.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.errors import ConfigError
from migrate.export import export_run
from migrate.export import fbdi as export_fbdi
from migrate.targets.pack import shipped_pack
from reconcile.exported import verify_export
from tests.test_export import Run, make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Run:
    return make_run(tmp_path_factory, realdata)


@pytest.fixture
def no_layouts(monkeypatch: pytest.MonkeyPatch) -> Callable[[], None]:
    """Call to take the layouts away: reading any layout file fails from then on. (Before
    the pack carried the export's facts, the export read them from
    ``<checkout>/../shared/realdata/...`` and failed where that folder is absent.)"""

    def refuse(*_args: object) -> object:
        raise AssertionError("a layout file was read")

    def hide() -> None:
        monkeypatch.setattr(export_fbdi, "read_layout", refuse)

    return hide


def _members(folder: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(folder.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                out[f"{path.name}/{name}"] = zf.read(name)
    return out


def test_an_export_without_the_layouts_folder_writes_the_layouts_bytes(
    run: Run, tmp_path: Path, no_layouts: Callable[[], None]
) -> None:
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "files", layouts=run.layouts)
    no_layouts()
    result = export_run(settings, run.run_id, tmp_path / "pack")
    with_files, with_pack = _members(tmp_path / "files"), _members(tmp_path / "pack")
    assert len(with_pack) == 5 and with_pack == with_files
    for name in ("GlInterface.zip", "ApInvoicesInterface.zip", "PoHeadersInterfaceOrder.zip"):
        assert (tmp_path / "pack" / name).read_bytes() == (tmp_path / "files" / name).read_bytes()
    manifest = result.manifest
    assert manifest["layout_source"] == "pack"
    pack_files = manifest["pack"]
    assert sorted(pack_files) == [
        "oracle_fusion/finance/journals.yaml",
        "oracle_fusion/finance/payables_invoices.yaml",
        "oracle_fusion/procurement/purchase_orders.yaml",
    ]
    assert all(len(f["sha256"]) == 64 for f in pack_files.values())
    gl = manifest["layouts"]["GL_INTERFACE.columns.csv"]
    assert gl["path"] is None and gl["sha256"] == _sha(run.layouts / "GL_INTERFACE.columns.csv")
    files = json.loads((tmp_path / "files" / "export_manifest.json").read_text("utf-8"))
    assert files["layout_source"] == "files" and "pack" not in files
    assert manifest["files"] == files["files"]  # fields, left-out columns, totals, hashes


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_verify_without_the_layouts_is_not_verified_and_says_what_is_missing(
    run: Run, tmp_path: Path, no_layouts: Callable[[], None]
) -> None:
    settings = load_settings(run.workdir)
    no_layouts()
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"])
    report = verify_export(settings, out)
    assert report.verdict == "NOT VERIFIED", report.lines()
    [(level, text)] = report.findings
    assert level == "NOT VERIFIED"
    assert text.startswith("GlInterface.zip/GlInterface.csv: no vendor layout to read it with")
    assert "GL_INTERFACE.columns.csv" in text and "--layouts" in text
    assert verify_export(settings, out, layouts=run.layouts).verdict == "PASS"


def test_verify_refuses_a_layout_other_than_the_packs(run: Run, tmp_path: Path) -> None:
    """A newer layout is not the one the pack (and so the file) followed: NOT VERIFIED."""
    settings = load_settings(run.workdir)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"])
    newer = tmp_path / "newer"
    newer.mkdir()
    text = (run.layouts / "GL_INTERFACE.columns.csv").read_text(encoding="utf-8")
    (newer / "GL_INTERFACE.columns.csv").write_text(text + "\n", encoding="utf-8")
    report = verify_export(settings, out, layouts=newer)
    assert report.verdict == "NOT VERIFIED"
    assert any("not the layout the export followed" in t for _, t in report.findings)


def test_the_pack_carries_what_an_fbdi_file_needs(realdata: Path) -> None:
    layouts = realdata / "erp_target_schemas" / "oracle_fusion_interface"
    fbdi = {t.table: t for t in shipped_pack() if t.layout and t.layout.import_file}
    assert {t: (d.layout.import_file, d.layout.member) for t, d in fbdi.items() if d.layout} == {
        "GL_INTERFACE": ("GlInterface.zip", "GlInterface.csv"),
        "AP_INVOICES_INTERFACE": ("ApInvoicesInterface.zip", "ApInvoicesInterface.csv"),
        "AP_INVOICE_LINES_INTERFACE": ("ApInvoicesInterface.zip", "ApInvoiceLinesInterface.csv"),
        "PO_HEADERS_INTERFACE": ("PoHeadersInterfaceOrder.zip", "PoHeadersInterfaceOrder.csv"),
        "PO_LINES_INTERFACE": ("PoHeadersInterfaceOrder.zip", "PoLinesInterfaceOrder.csv"),
    }
    for table, definition in fbdi.items():
        assert definition.layout is not None
        path = layouts / definition.layout.file
        assert definition.layout.sha256 == _sha(path)
        lines = path.read_text(encoding="utf-8").splitlines()[1:]
        positions = [int(p) for p in (ln.split(",")[1] for ln in lines) if p]
        assert definition.layout.fields == max(positions), table


def test_a_column_the_layout_requires_and_the_pack_does_not_stage_refuses_the_export(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``required_unstaged`` (the recipe dropped a column the layout requires): the ERP
    would reject every record, so nothing is written."""
    real = export_fbdi.pack_layout

    def dropped(table: str) -> export_fbdi.Layout:
        layout = real(table)
        return replace(layout, required=(*layout.required, "LEDGER_ID"))

    monkeypatch.setattr(export_fbdi, "pack_layout", dropped)
    settings = load_settings(run.workdir)
    with pytest.raises(ConfigError, match="LEDGER_ID required by the layout"):
        export_run(settings, run.run_id, tmp_path / "gl", tables=["GL_INTERFACE"])
    assert not (tmp_path / "gl").exists()
