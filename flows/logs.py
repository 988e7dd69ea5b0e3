"""Route the core's standard-library logs (``migrate.*``, ``reconcile.*``) into Prefect runs.

Prefect attaches its API handler to the loggers named in ``PREFECT_LOGGING_EXTRA_LOGGERS``
when it configures logging. That setting is read once per process, and Dask worker
processes or a test session may configure logging before anyone sets it, so flows and tasks
also call :func:`bridge_core_logging`, which copies the handlers of Prefect's
``prefect.extra`` logger onto the core's loggers (idempotent). The handler only ships records
emitted inside a flow or task run, so the core's logs land on the run that produced them.
"""

from __future__ import annotations

import logging

CORE_LOGGERS: tuple[str, ...] = ("migrate", "reconcile")


def bridge_core_logging(level: int = logging.INFO) -> None:
    """Attach Prefect's API log handler to the core's loggers, once."""
    handlers = logging.getLogger("prefect.extra").handlers
    for name in CORE_LOGGERS:
        logger = logging.getLogger(name)
        for handler in handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
