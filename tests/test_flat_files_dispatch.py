"""The dispatch to the fixed-width reader (issue 20, item 2), with stand-in readers: the
pipeline and reconciliation each number the records (``_line``) themselves, pass the mapping
file's folder as ``base_dir`` (a copybook's path is relative to it), and a missing reader is
one line, not a traceback."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from migrate.errors import SchemaMismatch
from migrate.extract.files import origins
from migrate.extract.flat_file import read_file
from migrate.spec.loader import load_project
from reconcile.reading.files import file_records

MAPPING = """entity: ytd
domain: hr
source:
  system: payroll
  file:
    path: ytd.dat
    fixed:
      fields:
        - {name: EMP, start: 1, length: 3}
        - {name: AMT, start: 4, length: 5}
  key: [EMP]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  RECORD_KEY: {from: EMP}
"""


def project(tmp: Path) -> Path:
    (tmp / "mappings" / "hr").mkdir(parents=True)
    (tmp / "mappings" / "hr" / "ytd.yaml").write_text(MAPPING, encoding="utf-8")
    (tmp / "ytd.dat").write_bytes(b"00100012\n00200034\n00300056\n")
    return tmp / "mappings"


def test_fixed_width_files_go_to_the_fixed_readers_numbered_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[Path] = []

    def fixed_frames(f: object, path: Path, size: int, base_dir: Path) -> Iterator[pd.DataFrame]:
        seen.append(base_dir)
        yield pd.DataFrame({"EMP": ["001", "002"], "AMT": ["00012", "00034"]})
        yield pd.DataFrame({"EMP": ["003"], "AMT": ["00056"]})

    def fixed_records(f: object, path: Path, base_dir: Path) -> Iterator[dict[str, object]]:
        seen.append(base_dir)
        yield from ({"EMP": e} for e in ("001", "002", "003"))

    pipeline_side = types.ModuleType("migrate.extract.files.fixed")
    pipeline_side.fixed_frames = fixed_frames  # type: ignore[attr-defined]
    pipeline_side.layout_columns = lambda f, base_dir: ["EMP", "AMT"]  # type: ignore[attr-defined]
    reconcile_side = types.ModuleType("reconcile.reading.fixed_records")
    reconcile_side.fixed_records = fixed_records  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "migrate.extract.files.fixed", pipeline_side)
    monkeypatch.setitem(sys.modules, "reconcile.reading.fixed_records", reconcile_side)
    project_ = load_project(project(tmp_path))
    origins.remember(project_)
    spec = project_.spec("ytd")
    chunks = list(read_file(spec, tmp_path / "ytd.dat", 2))
    assert [n for c in chunks for n in c.rows["_line"].tolist()] == [1, 2, 3]
    records = list(file_records(spec, tmp_path / "ytd.dat"))
    assert [(r["_line"], r["EMP"]) for r in records] == [(1, "001"), (2, "002"), (3, "003")]
    assert set(seen) == {tmp_path / "mappings" / "hr"}


def test_without_a_fixed_width_reader_the_error_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "migrate.extract.files.fixed", None)
    monkeypatch.setitem(sys.modules, "reconcile.reading.fixed_records", None)
    spec = load_project(project(tmp_path)).spec("ytd")
    with pytest.raises(SchemaMismatch, match="^ytd: fixed-width files cannot be read yet"):
        list(read_file(spec, tmp_path / "ytd.dat", 2))
    with pytest.raises(SchemaMismatch, match="reconciliation cannot read fixed-width files"):
        list(file_records(spec, tmp_path / "ytd.dat"))
