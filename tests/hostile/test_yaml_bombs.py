"""Unbounded YAML is refused, fast, with file:line (issue 22, item 10).

Before: a 661-byte alias bomb kept ``mappings check --offline`` busy for more than 120 s at
659 MB (every alias was expanded into a fresh copy), and a 50 MB mapping more than 300 s.
Now a mapping file over the size cap is refused before it is parsed, and aliases may not
expand a file past a fixed number of nodes (nor refer to themselves).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from migrate.errors import SpecError
from migrate.spec import yamlsource
from migrate.spec.yamlsource import read_yaml


def _bomb(levels: int = 9) -> str:
    """The billion laughs in YAML: each level holds nine aliases of the one before."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels + 1):
        refs = ",".join(f"*a{i - 1}" for _ in range(9))
        lines.append(f"a{i}: &a{i} [{refs}]")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_in_well_under_a_second(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_bomb(), encoding="utf-8")
    assert path.stat().st_size < 700
    started = time.perf_counter()
    with pytest.raises(SpecError) as err:
        read_yaml(path, "mappings/bomb.yaml")
    assert time.perf_counter() - started < 0.5
    message = str(err.value)
    assert message.startswith("mappings/bomb.yaml:")
    assert "aliases add" in message and "expands" in message
    assert "\n" not in message


def test_an_alias_that_refers_to_itself_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("entity: x\nloop: &me\n  - 1\n  - *me\n", encoding="utf-8")
    with pytest.raises(SpecError, match=r"loop.yaml:2: an alias refers to the value that holds it"):
        read_yaml(path)


def test_small_aliases_are_still_read(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text("base: &b {money: fixed}\nA: {steps: [*b]}\nB: {steps: [*b]}\n")
    data = read_yaml(path).data
    assert data["A"] == data["B"] == {"steps": [{"money": "fixed"}]}


def test_a_mapping_over_the_size_cap_is_refused_before_parsing(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    filler = "# " + "x" * 1000 + "\n"
    path.write_text("entity: huge\n" + filler * (yamlsource.MAX_BYTES // len(filler) + 1))
    started = time.perf_counter()
    with pytest.raises(SpecError) as err:
        read_yaml(path, "mappings/huge.yaml")
    assert time.perf_counter() - started < 0.5
    message = str(err.value)
    assert message.startswith("mappings/huge.yaml:")
    assert f"{yamlsource.MAX_BYTES:,} bytes" in message and "\n" not in message


def test_the_cli_names_the_bomb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from cli.main import main

    folder = tmp_path / "mappings" / "finance"
    folder.mkdir(parents=True)
    (folder / "bomb.yaml").write_text("entity: bomb\n" + _bomb(), encoding="utf-8")
    started = time.perf_counter()
    code = main(["--workdir", str(tmp_path), "--mappings", str(tmp_path / "mappings"),
                 "mappings", "check", "--offline"])  # fmt: skip
    assert time.perf_counter() - started < 5
    got = capsys.readouterr()
    assert code != 0
    assert "bomb.yaml:10: aliases add" in got.out + got.err
