"""Review (session 14) of the FBDI export from the shipped pack (33ec0f6 and after).

The exporter now follows the pack's copy of a layout (positions, types, a record's
fields) and the proof (``export verify --layouts``) reads the vendor's layout file. A pack
that drifted from the layout it names, while still carrying that layout's SHA-256 (a pack
edited by hand, regenerated from another layout with the hash left, a bug in
``pack_generate``), writes a file the ERP reads differently. Each test plants one such
drift in the pack the exporter sees and expects verify, given the right vendor layouts,
to say FAIL (never PASS): the proof must not trust the pack's word on the layout.
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from migrate.config import load_settings
from migrate.export import export_run
from migrate.export import fbdi as export_fbdi
from migrate.targets.definition import ColumnDef, TableDef
from reconcile.exported import verify_export
from tests.test_export import Run, make_run


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, realdata: Path) -> Run:
    return make_run(tmp_path_factory, realdata)


Edit = Callable[[dict[str, ColumnDef]], dict[str, ColumnDef]]


def _drifted(monkeypatch: pytest.MonkeyPatch, edit: Edit) -> None:
    """The pack's GL_INTERFACE layout with ``edit`` applied to its columns, its layout
    SHA-256 (the vendor file it claims to follow) left as it was."""
    real = export_fbdi.pack_layout

    def drifted(table: str) -> export_fbdi.Layout:
        layout = real(table)
        if table != "GL_INTERFACE":
            return layout
        columns = edit(dict(layout.table.columns))
        table_def: TableDef = layout.table.model_copy(update={"columns": columns})
        return replace(layout, table=table_def)

    monkeypatch.setattr(export_fbdi, "pack_layout", drifted)


def _swap(a: str, b: str) -> Edit:
    def edit(cols: dict[str, ColumnDef]) -> dict[str, ColumnDef]:
        pa, pb = cols[a].position, cols[b].position
        cols[a] = cols[a].model_copy(update={"position": pb})
        cols[b] = cols[b].model_copy(update={"position": pa})
        return cols

    return edit


def _moved(name: str, to: int) -> Edit:
    def edit(cols: dict[str, ColumnDef]) -> dict[str, ColumnDef]:
        cols[name] = cols[name].model_copy(update={"position": to})
        return cols

    return edit


def _typed(name: str, kind: str) -> Edit:
    def edit(cols: dict[str, ColumnDef]) -> dict[str, ColumnDef]:
        cols[name] = cols[name].model_copy(update={"type": kind})
        return cols

    return edit


def _member(folder: Path) -> bytes:
    with zipfile.ZipFile(folder / "GlInterface.zip") as zf:
        return zf.read("GlInterface.csv")


DRIFTS: dict[str, Edit] = {
    "debit and credit swapped": _swap("ENTERED_DR", "ENTERED_CR"),
    "two segments swapped": _swap("SEGMENT2", "SEGMENT3"),
    "a text column moved to an unused position": _moved("REFERENCE10", 60),
    "the debit moved onto a position staging does not fill": _moved("ENTERED_DR", 41),
    "a date column typed timestamp": _typed("ACCOUNTING_DATE", "timestamp"),
}


def test_the_pack_as_shipped_verifies(run: Run, tmp_path: Path) -> None:
    """The control: the same export, the pack untouched, PASSes with the layouts."""
    settings = load_settings(run.workdir)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"])
    report = verify_export(settings, out, layouts=run.layouts)
    assert report.verdict == "PASS", report.lines()


@pytest.mark.parametrize("drift", sorted(DRIFTS))
def test_a_pack_that_drifted_from_its_layout_never_verifies(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, drift: str
) -> None:
    settings = load_settings(run.workdir)
    export_run(settings, run.run_id, tmp_path / "shipped", tables=["GL_INTERFACE"])
    _drifted(monkeypatch, DRIFTS[drift])
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"])
    monkeypatch.undo()
    assert _member(out) != _member(tmp_path / "shipped"), "the plant changed no byte"
    report = verify_export(settings, out, layouts=run.layouts)
    assert report.verdict == "FAIL", (drift, report.lines())
    # and without the layouts, nothing is claimed either
    assert verify_export(settings, out, record=False).verdict == "NOT VERIFIED"


def test_a_pack_whose_records_are_shorter_than_the_layouts_never_passes(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pack's record width below the layout's (trailing fields the ERP expects left
    off): the proof, reading by the vendor's layout, cannot read the records as it."""
    settings = load_settings(run.workdir)
    real = export_fbdi.pack_layout

    def narrow(table: str) -> export_fbdi.Layout:
        layout = real(table)
        return replace(layout, fields=100) if table == "GL_INTERFACE" else layout

    monkeypatch.setattr(export_fbdi, "pack_layout", narrow)
    out = tmp_path / "gl"
    export_run(settings, run.run_id, out, tables=["GL_INTERFACE"])
    monkeypatch.undo()
    report = verify_export(settings, out, layouts=run.layouts)
    assert report.verdict in ("FAIL", "NOT VERIFIED"), report.lines()
    assert any("fields, the layout has 118" in text for _, text in report.findings)
