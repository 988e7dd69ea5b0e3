"""``migrate --help`` and ``migrate reconcile --help`` name every exit code a script sees
(review of issue 19: the help said 0, 1 and 2 only; a reconcile exits 3 for EXCEPTIONS, and
Ctrl-C exits 130)."""

from __future__ import annotations

import pytest

from cli.main import main


def _help(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    with pytest.raises(SystemExit) as stop:
        main([*args, "--help"])
    assert stop.value.code == 0
    return " ".join(capsys.readouterr().out.split())  # argparse wraps lines anywhere


@pytest.mark.parametrize("args", [(), ("reconcile",)])
def test_help_names_each_exit_code(capsys: pytest.CaptureFixture[str], args: tuple[str]) -> None:
    text = _help(capsys, *args)
    for code in ("0 PASS", "3 EXCEPTIONS", "1 FAIL", "130 interrupted"):
        assert code in text, (args, code)
    assert "2 cannot reconcile" in text or "2 bad input" in text
