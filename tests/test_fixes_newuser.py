"""Defects a new-user pass found: each seen through the command line as a user meets it.

A lower-case clash with a shipped table, a closed stdout, a misspelt ``legacy_role``, an
offline check that skipped the file roots, a definition default reported at the wrong file,
a date format the tool cannot write, and a refused value also counted as blank.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from migrate.staging.catalog import configure_targets, forget_targets
from tests.test_user_targets import Cli, make_project


@pytest.fixture(autouse=True)
def _no_file_root_declared(monkeypatch: pytest.MonkeyPatch) -> None:
    """tests/conftest.py declares pytest's temporary folder a file root; here none is."""
    monkeypatch.delenv("MIGRATE_FILE_ROOTS", raising=False)


ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _shipped_tables_afterwards() -> Iterator[None]:
    yield
    configure_targets(None)
    forget_targets()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "hr")


@pytest.fixture
def cli(project: Path, capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(project, capsys)


def _workers(project: Path, table: str) -> None:
    (project / "targets" / "x.yaml").write_text(
        f"table: {table}\nkey: [ID]\ncolumns:\n  ID: {{type: integer, required: true}}\n",
        encoding="utf-8",
    )


@pytest.mark.parametrize("name", ["workers", "WORKERS", "Workers"])
def test_a_shipped_table_in_another_case_is_refused_by_every_check(
    cli: Cli, project: Path, name: str
) -> None:
    _workers(project, name)
    said = f"targets/x.yaml:1 table: {name!r} is a shipped staging table already"
    for argv in (("mappings", "check", "--offline"), ("mappings", "check")):
        assert cli(*argv) in (1, 2)
        assert said in (cli.err + cli.out).splitlines(), cli.err + cli.out
    assert cli("targets", "check", "--offline", str(project / "targets")) == 1
    assert any(line.endswith(said.split(":1 ", 1)[1]) for line in cli.out.splitlines()), cli.out


def test_a_closed_stdout_ends_quietly(tmp_path: Path) -> None:
    """``migrate ... | head -1``: no ``BrokenPipeError`` line, exit 0 or 141."""
    code = (
        "import sys\n"
        "import cli.main as cli\n"
        "def handler(args, settings):\n"
        "    for i in range(200000):\n"
        "        print('line', i)\n"
        "    return 0\n"
    )
    script = tmp_path / "pipe.py"
    script.write_text(
        code
        + "import cli.parser as p\n"
        + "real = p.build_parser\n"
        + "def build():\n"
        + "    parser = real()\n"
        + "    parse = parser.parse_args\n"
        + "    def parse_args(argv):\n"
        + "        args = parse(argv)\n"
        + "        args.handler = handler\n"
        + "        return args\n"
        + "    parser.parse_args = parse_args\n"
        + "    return parser\n"
        + "cli.build_parser = build\n"
        + f"sys.exit(cli.main(['--workdir', {str(tmp_path)!r}, 'runs']))\n",
        encoding="utf-8",
    )
    proc = subprocess.run(
        f"{sys.executable} {script} | head -1",
        shell=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        executable="/bin/bash",
    )
    assert proc.stdout == "line 0\n"
    assert "BrokenPipe" not in proc.stderr and "Exception" not in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    ("safety", "said"),
    [
        (
            'legacy_role = "refuze"',
            "migrate.toml:3: [safety] legacy_role must be 'warn' or 'refuse', not 'refuze' "
            "(did you mean 'refuse'?)",
        ),
        (
            'legacy_rol = "refuse"',
            "migrate.toml:3: [safety] unknown key 'legacy_rol' (did you mean 'legacy_role'?)",
        ),
        (
            'file_roots = ["landing"]',
            "migrate.toml:3: [safety] file_roots: no such folder ",
        ),
    ],
)
def test_a_bad_safety_table_is_one_line_at_its_line_when_the_config_loads(
    tmp_path: Path, safety: str, said: str
) -> None:
    from migrate.config import load_settings
    from migrate.errors import ConfigError

    (tmp_path / "migrate.toml").write_text(
        f'staging_schema = "s"\n[safety]\n{safety}\n', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as caught:
        load_settings(tmp_path)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path}/{said}"), message


def test_a_misspelt_legacy_role_variable_is_refused_when_the_config_loads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from migrate.config import load_settings
    from migrate.errors import ConfigError

    monkeypatch.setenv("MIGRATE_LEGACY_ROLE", "refuze")
    with pytest.raises(ConfigError, match=r"MIGRATE_LEGACY_ROLE must be 'warn' or 'refuse', not"):
        load_settings(tmp_path)


def test_a_too_long_definition_default_is_said_at_the_definition(cli: Cli, project: Path) -> None:
    path = project / "targets" / "departments.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        "  OPENED: {type: date, format: YYYY/MM/DD}\n",
        "  OPENED: {type: date, format: YYYY/MM/DD}\n"
        "  ORIGIN: {type: text, length: 3, default: LEGACY}\n",
    )
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index("  ORIGIN: {type: text, length: 3, default: LEGACY}") + 1
    assert cli("mappings", "check", "--offline") == 1
    lines = (cli.err + cli.out).splitlines()
    assert (
        f"targets/departments.yaml:{line} columns.ORIGIN.default: DEPARTMENTS.ORIGIN: 'LEGACY' "
        "is longer than the column's 3 characters"
    ) in lines, lines
    assert not any(x.startswith("mappings/") for x in lines), lines


@pytest.mark.parametrize("column", ["  OPENED: {type: date, format: YYYY/MON/DD}"])
def test_a_date_format_the_tool_cannot_write_is_refused_at_its_line(
    cli: Cli, project: Path, column: str
) -> None:
    path = project / "targets" / "departments.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("  OPENED: {type: date, format: YYYY/MM/DD}", column)
    path.write_text(text, encoding="utf-8")
    line = text.splitlines().index(column) + 1
    said = f"targets/departments.yaml:{line} columns.OPENED.format: format 'YYYY/MON/DD' holds"
    for argv in (("mappings", "check", "--offline"), ("targets", "check", "--offline")):
        assert cli(*argv) in (1, 2)
        assert any(x.startswith(said) for x in (cli.err + cli.out).splitlines()), cli.err + cli.out
    assert cli("run") == 2
    assert said in cli.err


def test_a_refused_boolean_is_not_also_blank_and_says_why(cli: Cli, project: Path) -> None:
    import sqlite3

    with sqlite3.connect(project / "legacy_hr.db") as conn:
        conn.execute("UPDATE asg_hist SET primary_yn = 'Q' WHERE emp_id = 'e1002'")
    assert cli("run") in (0, 1), cli.err + cli.out
    with sqlite3.connect(project / "staging.db") as conn:
        rows = conn.execute(
            'SELECT "REASON_CODE", "MESSAGE" FROM "MIG_REJECTS" WHERE "SOURCE_KEY" = ?',
            ("e1002|1",),
        ).fetchall()
    assert len(rows) == 1, rows
    reason, message = rows[0]
    assert reason == "invalid_boolean"
    assert "required_missing" not in message, message
    assert "(invalid_boolean)" not in message, message


def test_an_undeclared_target_suggests_only_a_close_name(cli: Cli, project: Path) -> None:
    (project / "targets" / "departments.yaml").unlink()
    for argv in (("mappings", "check", "--offline"), ("run",)):
        assert cli(*argv) in (1, 2)
        said = [x for x in (cli.err + cli.out).splitlines() if "DEPARTMENTS" in x]
        assert said, cli.err + cli.out
        assert "did you mean" not in said[0], said
        assert "targets/" in said[0] and "docs/how-to/targets.md" in said[0], said


def test_a_definition_not_compared_with_staging_is_named_at_its_line(
    cli: Cli, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import NoSuchTableError

    import migrate.targets.drift as drift

    assert cli("run") == 0, cli.err + cli.out

    def refuse(engine: object, loaded: object, schema: object = None) -> list[object]:
        raise NoSuchTableError("workers")

    monkeypatch.setattr(drift, "check_drift", refuse)
    assert cli("mappings", "check") == 1
    said = cli.out.splitlines()
    assert (
        "targets/departments.yaml:1 table: not compared with the staging table "
        "(NoSuchTableError: workers)"
    ) in said, said
