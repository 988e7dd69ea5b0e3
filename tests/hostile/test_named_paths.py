"""Every path a mapping names is confined, not only ``source.file.path`` (issue 22, item 11).

Before: ``path:`` was confined, but a fixed-width layout's ``copybook:`` was read wherever
it pointed (``/etc/passwd``, ``../../secret.cpy``), by the pipeline (``mappings check``,
``migrate run``) and by reconciliation's own reader; reconciliation read the ``path:``
itself without the check too. Now each path a spec declares (its type says so,
:mod:`migrate.spec.pathfields`) goes through the one check
(:mod:`migrate.extract.files.confinement`) before any reader opens it, and a spec field that
looks like a path but is a plain ``str`` fails here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

import migrate.extract.files.fixed as fixed
import migrate.spec as spec_package
from cli.main import main
from migrate.config import load_settings
from migrate.errors import SchemaMismatch
from migrate.runs.runner import run_migration
from migrate.spec.base import Strict
from migrate.spec.flatfile import FlatFile
from migrate.spec.loader import load_mapping
from reconcile.reading.files import file_records
from reconcile.reading.fixed_records import fixed_records

REPO = Path(__file__).resolve().parents[2]
OUTSIDE = "is outside the folders a mapping may read"

COPYBOOK = """\
       01  PAY-REC.
           05  EMP-ID        PIC X(4).
           05  EMP-NAME      PIC X(12).
           05  JOB-TITLE     PIC X(8).
           05  DEPT          PIC X(3).
           05  SALARY        PIC 9(6)V99.
           05  GROSS         PIC 9(5)V99.
"""
DATA = (
    b"0101" + b"Smith, Ann".ljust(12) + b"Clerk".ljust(8) + b"A01" + b"05000000" + b"0410050\n"
    b"0102" + b"Brien, Pat".ljust(12) + b"Analyst".ljust(8) + b"A02" + b"06100010" + b"0500000\n"
)

MAPPING = """entity: pay
domain: hr
source:
  system: payroll
  file:
    path: pay.dat
    encoding: ascii
    fixed:
      copybook: COPYBOOK
  key: [EMP-ID]
target:
  table: WORKER_ANNUAL_PAY
  key: [FISCAL_YEAR, RECORD_KEY]
fields:
  FISCAL_YEAR:
    const: 2024
  RECORD_KEY:
    from: EMP-ID
  FULL_NAME:
    from: EMP-NAME
  LAST_NAME:
    from: EMP-NAME
    steps: [upper]
  JOB_TITLE:
    from: JOB-TITLE
  DEPARTMENT_CODE:
    from: DEPT
  ANNUAL_SALARY:
    from: SALARY
    steps: [{money: fixed}]
  GROSS_PAY:
    from: GROSS
    steps: [{money: fixed}]
reconcile:
  measures:
    - name: gross
      source_column: GROSS
      source_encoding: decimal
      target_column: GROSS_PAY
"""
HOSTILE = ["/etc/passwd", "../../secret.cpy", "../../../secrets/secret.cpy"]


@pytest.fixture(autouse=True)
def _no_file_root_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py declares pytest's temporary folder a file root; here none is."""
    monkeypatch.delenv("MIGRATE_FILE_ROOTS", raising=False)


def _project(tmp_path: Path, copybook: str) -> Path:
    """The working folder: a fixed-width mapping naming ``copybook``, a readable copybook
    both beside the mapping and outside it (``../../secret.cpy`` from the mapping's folder,
    and one outside the working folder), and the data."""
    work = tmp_path / "work"
    (work / "mappings" / "hr" / "copybooks").mkdir(parents=True)
    (work / "mappings" / "hr" / "pay.yaml").write_text(MAPPING.replace("COPYBOOK", copybook))
    (work / "mappings" / "hr" / "copybooks" / "pay.cpy").write_text(COPYBOOK)
    (work / "secret.cpy").write_text(COPYBOOK)
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "secret.cpy").write_text(COPYBOOK)
    (work / "pay.dat").write_bytes(DATA)
    return work


def _cli(work: Path, *args: str) -> int:
    return main(["--workdir", str(work), "--mappings", str(work / "mappings"), *args])


def _line(copybook: str) -> int:
    return (
        MAPPING.replace("COPYBOOK", copybook).splitlines().index(f"      copybook: {copybook}") + 1
    )


@pytest.fixture
def copybook_reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The copybooks the pipeline's reader opened."""
    opened: list[Path] = []
    real = fixed.read_copybook

    def spy(path: Path) -> Any:
        opened.append(path)
        return real(path)

    monkeypatch.setattr(fixed, "read_copybook", spy)
    return opened


@pytest.mark.parametrize("copybook", HOSTILE)
@pytest.mark.parametrize("offline", [False, True], ids=["live", "offline"])
def test_mappings_check_refuses_the_copybook_at_its_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    copybook: str,
    offline: bool,
    copybook_reads: list[Path],
) -> None:
    """Seen failing before the fix: offline said "mappings OK", live read the file (a
    valid copybook outside: "mappings OK"; /etc/passwd: a copybook parse error)."""
    work = _project(tmp_path, copybook)
    assert _cli(work, "mappings", "check", *(["--offline"] if offline else [])) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(
        f"mappings/hr/pay.yaml:{_line(copybook)} source.file.fixed.copybook: copybook "
        f"{copybook!r} {OUTSIDE}"
    ), out
    assert "relative to the mapping's folder without '..'" in out[0]
    assert out[-1] == "1 problem(s)"
    assert copybook_reads == []


@pytest.mark.parametrize("copybook", HOSTILE)
def test_a_run_refuses_the_copybook_before_reading_it(
    tmp_path: Path, copybook: str, copybook_reads: list[Path]
) -> None:
    """Seen failing before the fix: the run staged the records read by the copybook
    outside (or failed parsing /etc/passwd, having read it)."""
    work = _project(tmp_path, copybook)
    with pytest.raises(Exception) as refused:
        run_migration(load_settings(work), work / "mappings", "full")
    assert f"copybook {copybook!r} {OUTSIDE}" in str(refused.value)
    assert copybook_reads == []


def _loaded(work: Path) -> tuple[FlatFile, Any]:
    spec = load_mapping(work / "mappings" / "hr" / "pay.yaml").spec
    assert spec.source.file is not None
    return spec.source.file, spec


@pytest.mark.parametrize("copybook", HOSTILE)
def test_reconciliations_reader_refuses_the_copybook(tmp_path: Path, copybook: str) -> None:
    """Seen failing before the fix: the records were read by the copybook outside."""
    work = _project(tmp_path, copybook)
    f, spec = _loaded(work)
    base = work / "mappings" / "hr"
    with pytest.raises(SchemaMismatch, match=f"copybook '{copybook}' {OUTSIDE}"):
        list(fixed_records(f, work / "pay.dat", base))
    with pytest.raises(SchemaMismatch, match=f"copybook '{copybook}' {OUTSIDE}"):
        list(file_records(spec, work / "pay.dat", base))


def test_reconciliations_reader_refuses_the_flat_file_too(tmp_path: Path) -> None:
    """Seen failing before the fix: reconciliation read ``../secrets/...`` (the pipeline
    refused it; reconciliation's own reader had no check, and its report shows values)."""
    work = _project(tmp_path, "copybooks/pay.cpy")
    (tmp_path / "secrets" / "pay.dat").write_bytes(DATA)
    yaml = work / "mappings" / "hr" / "pay.yaml"
    yaml.write_text(yaml.read_text().replace("path: pay.dat", "path: ../secrets/pay.dat"))
    _, spec = _loaded(work)
    with pytest.raises(SchemaMismatch, match=f"flat file '../secrets/pay.dat' {OUTSIDE}"):
        list(file_records(spec, tmp_path / "secrets" / "pay.dat", work / "mappings" / "hr"))


def test_copybooks_the_mapping_may_name_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Beside the mapping, under a declared root, under a ``${MIGRATE_...}`` folder."""
    work = _project(tmp_path, "copybooks/pay.cpy")
    assert _cli(work, "mappings", "check", "--offline") == 0
    assert _cli(work, "mappings", "check") == 0
    f, spec = _loaded(work)
    base = work / "mappings" / "hr"
    assert [r["EMP-ID"] for r in fixed_records(f, work / "pay.dat", base)] == ["0101", "0102"]
    assert [r["GROSS"] for r in file_records(spec, work / "pay.dat", base)] == [
        "4100.50",
        "5000.00",
    ]
    secret = tmp_path / "secrets" / "secret.cpy"
    for named, env in [
        (str(secret), {"MIGRATE_FILE_ROOTS": str(secret.parent)}),
        ("../../../secrets/secret.cpy", {"MIGRATE_FILE_ROOTS": str(secret.parent)}),
        ("${MIGRATE_COPYBOOKS}/secret.cpy", {"MIGRATE_COPYBOOKS": str(secret.parent)}),
    ]:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        f = FlatFile.model_validate({"path": "pay.dat", "fixed": {"copybook": named}})
        assert [r["EMP-ID"] for r in fixed_records(f, work / "pay.dat", base)] == [
            "0101",
            "0102",
        ], named
        assert fixed.layout_columns(f, base)[:2] == ["EMP-ID", "EMP-NAME"]
        for name in env:
            monkeypatch.delenv(name)
    capsys.readouterr()
    escape = FlatFile.model_validate(
        {"path": "pay.dat", "fixed": {"copybook": "${MIGRATE_COPYBOOKS}/../secret.cpy"}}
    )
    monkeypatch.setenv("MIGRATE_COPYBOOKS", str(base))
    with pytest.raises(SchemaMismatch, match=OUTSIDE):
        fixed.layout_columns(escape, base)


# -- the mechanism: a path a spec names is declared as one, and only the check hands it out


def _spec_models() -> Iterator[type[BaseModel]]:
    """Every model of the mapping language (each module of migrate/spec imported)."""
    import importlib

    for module in sorted((Path(spec_package.__file__).parent).glob("*.py")):
        importlib.import_module(f"migrate.spec.{module.stem}")
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [Strict]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            if sub not in seen and sub.__module__.startswith("migrate.spec."):
                seen.add(sub)
                todo.append(sub)
    yield from sorted(seen, key=lambda c: (c.__module__, c.__qualname__))


# words of a field's name or description that say it names a file to open
_PATHLIKE = ("path", "file", "folder", "directory", "copybook", "layout")
# fields whose name or description says so and that name no file: each with why
_NOT_PATHS = {
    "FlatFile.env": "the name of an environment variable (the operator's, trusted)",
    "FlatFile.encoding": "a codec name",
    "FlatFile.delimiter": "a character",
    "FlatFile.quotechar": "a character",
    "FlatFile.header": "a flag",
    "FlatFile.columns": "column names",
    "FlatFile.fixed": "the layout itself (its copybook is declared a path)",
    "FixedWidth.fields": "the layout's fields",
    "FixedWidth.records": "a record format",
    "FixedWidth.record_length": "a number",
    "FixedField.name": "a column name",
    "FixedField.start": "a number",
    "FixedField.type": "a field type (its description names the file's encoding)",
    "Source.system": "a system name the operator's migrate.toml resolves",
    "Source.file": "the file declaration (its paths are declared paths)",
    "Source.key": "column names",
}


def _unchecked_pathlike() -> list[str]:
    from migrate.spec.pathfields import path_rule

    out = []
    for model in _spec_models():
        for name, info in model.model_fields.items():
            words = f"{name} {info.alias or ''} {info.description or ''}".lower()
            qualified = f"{model.__name__}.{name}"
            if not any(w in words for w in _PATHLIKE) or qualified in _NOT_PATHS:
                continue
            if path_rule(info) is None:
                out.append(qualified)
    return out


def test_every_spec_field_that_names_a_file_is_declared_a_path() -> None:
    """A new kind of path (a layout file, an include) typed as a plain ``str`` would be
    read without the check: it fails here until it is declared (or listed, with why)."""
    assert _unchecked_pathlike() == []


def test_the_declared_paths_of_a_source_are_found() -> None:
    from migrate.spec.pathfields import named_paths

    f = FlatFile.model_validate({"path": "a.dat", "fixed": {"copybook": "b.cpy"}})
    assert [(n.key, n.raw) for n in named_paths(f)] == [
        (("path",), "a.dat"),
        (("fixed", "copybook"), "b.cpy"),
    ]
    assert [n.raw for n in named_paths(FlatFile.model_validate({"path": "a.csv"}))] == ["a.csv"]


def _reads_a_declared_path_itself(path: Path) -> list[str]:
    """Where a module reads ``.copybook`` of a spec (it should ask the confinement)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{path.relative_to(REPO)}:{node.lineno}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and node.attr == "copybook"
    ]


def test_only_the_confinement_hands_out_a_copybook() -> None:
    """The readers (the pipeline's and reconciliation's) get the copybook's path from the
    confinement, which checks it: no other module reads the raw ``copybook`` string."""
    allowed = {"migrate/extract/files/confinement.py", "migrate/spec/layout.py"}
    found = [
        where
        for folder in ("migrate", "reconcile", "cli", "flows")
        for path in sorted((REPO / folder).rglob("*.py"))
        if str(path.relative_to(REPO)) not in allowed
        for where in _reads_a_declared_path_itself(path)
    ]
    assert found == []
