"""Frames read one ahead of their consumer, by a background thread.

Extraction through a driver that releases the GIL while it reads (ADBC) can then overlap
with the transform of the frame before; one frame at most waits, so memory stays bounded.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import Any

import pandas as pd


def read_ahead(frames: Generator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
    """The frames, each read and decoded by a background thread while the caller works on
    the one before (the driver releases the GIL as it reads). The thread starts reading a
    frame only once the caller has taken the one before, so at most one frame is read ahead
    of the caller's; the stream is closed in that thread when the caller stops."""
    ready: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=1)
    taken = threading.Semaphore(1)  # a permit per frame the thread may read ahead
    stop = threading.Event()

    def wait_for(acquire: Any) -> bool:
        while not stop.is_set():
            if acquire():
                return True
        return False

    def put(item: tuple[str, Any]) -> bool:
        return wait_for(lambda: _try_put(ready, item))

    def produce() -> None:
        try:
            while wait_for(lambda: taken.acquire(timeout=0.1)):
                frame = next(frames, None)
                if frame is None:
                    put(("end", None))
                    return
                if not put(("frame", frame)):
                    return
        except BaseException as exc:  # handed to the caller's thread
            put(("error", exc))
        finally:
            frames.close()

    worker = threading.Thread(target=produce, name="extract-ahead", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = ready.get()
            taken.release()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        worker.join()


def _try_put(ready: queue.Queue[tuple[str, Any]], item: tuple[str, Any]) -> bool:
    try:
        ready.put(item, timeout=0.1)
        return True
    except queue.Full:
        return False
