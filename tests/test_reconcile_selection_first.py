"""``migrate reconcile --entity <typo>``: the one-line error comes first and alone.

Before: ``    reconciling run <id>`` was printed on stdout, then the error on stderr (the
selection was checked only once the reconciliation had started).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.main import main
from tests.test_verdict import project, row


def test_a_misspelt_entity_is_refused_before_anything_is_printed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = project(tmp_path, {"pay": [row(1, "1.00")], "fy2": [row(1, "5.00")]})
    args = ["--workdir", str(tmp_path), "--mappings", str(mappings)]
    assert main([*args, "--quiet", "run"]) == 0
    capsys.readouterr()
    assert main([*args, "reconcile", "--entity", "pya"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "error: --entity pya: no such entity in the mappings (did you mean 'pay'?)"
    ]


def test_an_entity_the_run_did_not_stage_is_refused_first_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mappings = project(tmp_path, {"pay": [row(1, "1.00")], "fy2": [row(1, "5.00")]})
    args = ["--workdir", str(tmp_path), "--mappings", str(mappings)]
    assert main([*args, "--quiet", "run", "--entity", "pay"]) == 0
    capsys.readouterr()
    assert main([*args, "reconcile", "--entity", "fy2"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["error: --entity fy2: the run did not stage it (its entities: pay)"]
