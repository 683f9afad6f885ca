"""Structured logging on structlog, delivered through the standard :mod:`logging` module::

    from canvas_core import logging

    logger = logging.get_logger(__name__)
    logger.info("A setting was changed.", setting="site_name", old_value="a", new_value="b")

Each call becomes one :class:`logging.LogRecord` on the standard logger of the
same name, so existing handlers, ``pytest``'s ``caplog`` and error-reporting
SDKs see it. Its message is the event text followed by the fields in logfmt
(``A setting was changed. setting=site_name old_value=a new_value=b``); the
fields themselves are on the record as ``record.fields`` (a dict), for
formatters and handlers that want them structured. Context bound with
:func:`structlog.contextvars.bind_contextvars` is included.

Levels, handlers and formatting are configured with :mod:`logging` as usual;
this module does not touch structlog's global configuration.
"""

from __future__ import annotations

import logging as _stdlib_logging
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["BoundLogger", "get_logger"]

BoundLogger = structlog.stdlib.BoundLogger
"""The logger type :func:`get_logger` returns: ``debug``, ``info``, ``warning``,
``error``, ``exception``, ``critical`` and ``bind`` take keyword fields."""

_logfmt = structlog.processors.LogfmtRenderer(sort_keys=False, bool_as_flag=False)

# Keys that structlog or the logging module interpret instead of logging.
_PASSED_THROUGH = ("exc_info", "stack_info", "stacklevel")


def _to_stdlib(
    logger: _stdlib_logging.Logger, method_name: str, event_dict: MutableMapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Final processor: one standard log record with the fields in ``extra``."""
    kwargs: dict[str, Any] = {key: event_dict.pop(key) for key in _PASSED_THROUGH if key in event_dict}
    # Skip the frames of structlog (method, _proxy_to_logger) and of the stdlib
    # wrapper, so the record names the line that logged.
    kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 3
    message = str(event_dict.pop("event", ""))
    fields = dict(event_dict)
    if fields:
        message = f"{message} {_logfmt(logger, method_name, dict(fields))}"
    kwargs["extra"] = {"fields": fields}
    # The message may contain '%': pass it as an argument so it is never formatted.
    return ("%s", message), kwargs


_PROCESSORS: list[Any] = [
    structlog.stdlib.filter_by_level,
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.PositionalArgumentsFormatter(),
    _to_stdlib,
]


def get_logger(name: str) -> BoundLogger:
    """Return a structured logger writing to the standard logger ``name``.

    Use ``__name__`` so that records follow your package's logging configuration.
    """
    logger: BoundLogger = structlog.wrap_logger(
        _stdlib_logging.getLogger(name),
        processors=_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    return logger
