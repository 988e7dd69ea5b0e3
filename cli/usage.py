"""Usage mistakes in one line, as every other error of the command line is.

argparse prints the whole usage (three lines and more) before its message, and an unknown
option gets no suggestion: ``--entitiy`` said only "unrecognized arguments". A script's log
and a tired operator both want the one line, and the option meant."""

from __future__ import annotations

import argparse
import difflib
import re
from typing import NoReturn


def _option_strings(parser: argparse.ArgumentParser) -> set[str]:
    """Every option of the parser and of its sub-commands (an unknown option of a sub-command
    is reported by the top parser, which does not know the sub-command's options)."""
    out: set[str] = set()
    for action in parser._actions:
        out.update(s for s in action.option_strings if s.startswith("--"))
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                out |= _option_strings(sub)
    return out


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line on stderr, exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(
            2,
            f"error: {self.prog}: {message}{self._suggestion(message)}; see `{self.prog} --help`\n",
        )

    def _suggestion(self, message: str) -> str:
        """``(did you mean X?)`` for a misspelt option or choice, else nothing."""
        unknown = re.match(r"unrecognized arguments: (--[\w-]+)", message)
        choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)$", message)
        if unknown:
            word, known = unknown.group(1), sorted(_option_strings(self))
        elif choice:
            word, known = choice.group(1), re.findall(r"'([^']*)'", choice.group(2))
        else:
            return ""
        close = difflib.get_close_matches(word, known, 1)
        return f" (did you mean {close[0]}?)" if close else ""
