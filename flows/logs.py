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


class InRunOnly(logging.Handler):
    """Forward to Prefect's handler only inside a flow or task run.

    The core also logs outside Prefect (the CLI, tests); there Prefect's API handler would
    warn on every record that it has no flow run to attach it to.
    """

    def __init__(self, inner: logging.Handler) -> None:
        super().__init__(inner.level)
        self.inner = inner

    def emit(self, record: logging.LogRecord) -> None:
        from prefect.context import FlowRunContext, TaskRunContext

        if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
            self.inner.handle(record)


def bridge_core_logging(level: int = logging.INFO) -> None:
    """Attach Prefect's API log handler to the core's loggers, once."""
    handlers = logging.getLogger("prefect.extra").handlers
    for name in CORE_LOGGERS:
        logger = logging.getLogger(name)
        wrapped = {h.inner for h in logger.handlers if isinstance(h, InRunOnly)}
        for handler in handlers:
            if handler not in wrapped and not isinstance(handler, InRunOnly):
                logger.addHandler(InRunOnly(handler))
        if logger.level == logging.NOTSET:
            logger.setLevel(level)
