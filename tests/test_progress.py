"""The terminal's progress lines: every entity ends with one line whose counts add up."""

from __future__ import annotations

import io
import re
from pathlib import Path

from migrate.config import load_settings
from migrate.progress import TerminalProgress
from migrate.runs.runner import count_source_rows, run_migration
from migrate.spec.loader import load_project
from tests.test_pipeline import MAPPINGS, make_estate


def test_every_entity_ends_with_a_line_that_adds_up(tmp_path: Path) -> None:
    """File sources have no count beforehand; they used to end without any line."""
    make_estate(tmp_path, scale=200, seed=12)
    settings = load_settings(tmp_path)
    project = load_project(MAPPINGS)
    out = io.StringIO()
    progress = TerminalProgress(totals=count_source_rows(settings, project), stream=out)
    summary = run_migration(settings, MAPPINGS, "full", progress=progress)
    done = [line for line in out.getvalue().splitlines() if line.endswith("  done")]
    assert [line.split()[0] for line in done] == [e.entity for e in summary.entities]
    for line, entity in zip(done, summary.entities, strict=True):
        numbers = {
            name: int(value.replace(",", ""))
            for name, value in re.findall(r"(loaded|rejected|filtered) ([\d,]+)", line)
        }
        rows = int(re.search(r"([\d,]+) rows ", line).group(1).replace(",", ""))  # type: ignore[union-attr]
        assert rows == entity.rows_in
        assert numbers.get("filtered", 0) == entity.filtered
        assert numbers["loaded"] + numbers["rejected"] + numbers.get("filtered", 0) == rows
        assert ("100.0%" in line) == (entity.entity in progress.totals)


def test_a_partial_read_ends_without_a_percentage() -> None:
    """A delta or a resumed run reads fewer rows than the table holds: no misleading %."""
    out = io.StringIO()
    progress = TerminalProgress(totals={"lines": 1000}, stream=out, interval=0.0)
    progress.begin("lines")
    progress("lines", 200, 190, 10)
    progress.end("lines", 200, 190, 10)
    first, last = out.getvalue().splitlines()
    assert "20.0%" in first and "s left" in first
    assert "%" not in last and last.endswith("  done")
    progress("lines", 1000, 990, 10)  # all read: the line comes from ``end``, once
    progress.end("lines", 1000, 990, 10)
    tail = out.getvalue().splitlines()[2:]
    assert len(tail) == 1 and "100.0%" in tail[0] and tail[0].endswith("  done")


def test_a_split_entity_shows_its_rows_not_its_partitions() -> None:
    """Partitions run in turn each count from zero; the terminal line is the entity's, so
    its rate and time left are not understated from the second partition on."""
    from migrate.runs.pipeline_types import EntityResult
    from migrate.runs.runner import SplitProgress

    seen: list[tuple[str, int, int, int]] = []
    begun: list[str] = []

    class Recorder:
        def begin(self, entity: str) -> None:
            begun.append(entity)

        def __call__(self, entity: str, done: int, loaded: int, rejected: int) -> None:
            seen.append((entity, done, loaded, rejected))

    finished = EntityResult("lines", rows_in=100, loaded=90, rejected=8, filtered=2)
    split = SplitProgress(Recorder(), finished)
    split.begin("lines")
    split("lines", 10, 9, 1)
    assert begun == ["lines"] and seen == [("lines", 110, 99, 9)]
    finished.add(EntityResult("lines", rows_in=50, loaded=50))
    split("lines", 5, 5, 0)
    assert seen[-1] == ("lines", 155, 145, 8)
