"""Extraction reads at most one frame ahead of the transform, and stops cleanly."""

from __future__ import annotations

import threading
from collections.abc import Generator

import pandas as pd
import pytest

from migrate.extract.readahead import read_ahead


def frames(started: list[int], closed: threading.Event, n: int = 5) -> Generator[pd.DataFrame]:
    try:
        for i in range(n):
            started.append(i)
            yield pd.DataFrame({"i": [i]})
    finally:
        closed.set()


def test_reads_one_frame_ahead_and_no_more() -> None:
    started: list[int] = []
    closed = threading.Event()
    stream = read_ahead(frames(started, closed))
    first = next(stream)
    assert first["i"].tolist() == [0]
    for _ in range(50):  # the next frame is read while the caller holds the first
        if len(started) >= 2:
            break
        threading.Event().wait(0.05)
    assert started[:2] == [0, 1]
    threading.Event().wait(0.3)
    assert started == [0, 1]  # frame 2 waits until frame 1 is taken
    assert [f["i"].tolist() for f in stream] == [[1], [2], [3], [4]]
    assert closed.is_set()


def test_stopping_early_closes_the_stream() -> None:
    started: list[int] = []
    closed = threading.Event()
    stream = read_ahead(frames(started, closed))
    next(stream)
    stream.close()
    assert closed.wait(5)
    assert len(started) <= 2


def test_an_error_reaches_the_caller() -> None:
    def broken() -> Generator[pd.DataFrame]:
        yield pd.DataFrame({"i": [0]})
        raise ConnectionError("lost")

    stream = read_ahead(broken())
    next(stream)
    with pytest.raises(ConnectionError, match="lost"):
        next(stream)
