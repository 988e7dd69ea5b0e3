"""``migrate cutover`` says what ``migrate run`` says of an entity that read rows and staged
none: the same warning line, quiet or not (before: ``loaded 0  rejected 40  done``, and the
cause only in the reconciliation's exceptions)."""

from __future__ import annotations

import pytest

from flows.console import Console


def test_the_quiet_console_still_warns(capsys: pytest.CaptureFixture[str]) -> None:
    run = "a" * 32
    outcome = {
        "status": "completed",
        "rows_in": 2,
        "loaded": 0,
        "rejected": 2,
        "filtered": 0,
        "reasons": {"duplicate_key": 2},
        "partitions": [{"rows_in": 2, "loaded": 0, "staged_by": [run]}],
    }
    Console(progress=None).entity_done("pay", outcome)
    assert capsys.readouterr().err.splitlines() == [
        f"warning: pay staged 0 of 2 rows: every row rejected (duplicate_key 2: already "
        f"staged by run {run}); roll that run back first or run a delta"
    ]
    Console(progress=None).entity_done("pay", {**outcome, "loaded": 1})
    assert capsys.readouterr().err == ""
