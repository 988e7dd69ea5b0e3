"""A usage mistake is one line on stderr, exit 2, with the option or command meant: the
command-line page promises "every error is one line", and argparse printed its usage
(three lines and more) first, and no suggestion for a misspelt option."""

from __future__ import annotations

import pytest

from cli.main import main


@pytest.mark.parametrize(
    ("argv", "meant"),
    [
        (["reconcil"], "did you mean reconcile?"),
        (["run", "--mode", "ful"], "did you mean full?"),
        (["run", "--entitiy", "gl_accounts"], "did you mean --entity?"),
        (["audit", "veriy"], "did you mean verify?"),
        ([], "required: COMMAND"),
    ],
    ids=["command", "choice", "option", "action", "nothing"],
)
def test_one_line_naming_what_was_meant(
    argv: list[str], meant: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: migrate"), captured.err
    assert meant in lines[0] and "--help" in lines[0], lines[0]
    assert captured.out == ""


def test_help_is_still_the_whole_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["run", "--help"])
    assert stop.value.code == 0
    assert "usage: migrate run" in capsys.readouterr().out
