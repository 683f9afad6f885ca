"""Structured logging on structlog, delivered through the standard :mod:`logging` module::

    from canvas_core import logging

    logger = logging.get_logger(__name__)
    logger.info("A setting was changed.", setting="site_name", old_value="a", new_value="b")

Each call becomes one :class:`logging.LogRecord` on the standard logger of the
same name, so existing handlers, ``pytest``'s ``caplog`` and error-reporting
SDKs see it. Its message is the event text followed by the fields in logfmt
(``A setting was changed. setting=site_name old_value=a new_value=b``), made
like the logging module's own ``logger.info("Paid %s", amount)``: the template
(``record.msg``, ``A setting was changed. setting=%s old_value=%s ...``) is
the same for every value, so error trackers group by it. The fields
themselves are on the record as ``record.fields`` (a dict), for
formatters and handlers that want them structured. Context bound with
:func:`structlog.contextvars.bind_contextvars` is included.

Where the records go is configured with :mod:`logging` as usual. For output
that reads well with no more work, :func:`configure` (or the Django setting
``CANVAS_LOGGING``) installs one handler on the root logger: coloured console
lines on a terminal, JSON lines otherwise. :class:`ConsoleFormatter` and
:class:`JSONFormatter` are the formatters it uses, for a ``LOGGING`` dict of
your own. This module never touches structlog's global configuration.
"""

from __future__ import annotations

import enum
import json
import logging as _stdlib_logging
import os
import sys
from collections.abc import Mapping, MutableMapping
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import PurePath
from typing import IO, Any, Literal, TypeAlias
from uuid import UUID

import structlog

__all__ = [
    "HANDLER_NAME",
    "BoundLogger",
    "ConsoleFormatter",
    "JSONFormatter",
    "Output",
    "configure",
    "get_logger",
]

BoundLogger = structlog.stdlib.BoundLogger
"""The logger type :func:`get_logger` returns: ``debug``, ``info``, ``warning``,
``error``, ``exception``, ``critical`` and ``bind`` take keyword fields."""

Output: TypeAlias = Literal["auto", "console", "json"]
"""What :func:`configure` writes: ``console`` or ``json`` lines, or ``auto``: console on a terminal, else JSON."""

HANDLER_NAME = "canvas_core"
"""The name of the handler :func:`configure` installs on the root logger (a second call replaces it)."""

_logfmt = structlog.processors.LogfmtRenderer(sort_keys=False, bool_as_flag=False)

# Keys that structlog or the logging module interpret instead of logging.
_PASSED_THROUGH = ("exc_info", "stack_info", "stacklevel")


# -- values -----------------------------------------------------------------------------------------


_CONTAINERS = (Mapping, list, tuple, set, frozenset)


def _json_default(value: Any) -> Any:
    """How a value JSON cannot encode itself is written: dates in ISO 8601, the rest as text."""
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, bytes):
        return value.decode("utf-8", "backslashreplace")
    return str(value)  # Decimal, UUID, paths, model instances: their text


def _readable(value: Any) -> Any:
    """A field value as a person reads it: ISO dates, JSON containers, text for the rest."""
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, _CONTAINERS):
        return json.dumps(value, default=_json_default, ensure_ascii=False)
    if isinstance(value, datetime | date | time | timedelta | enum.Enum | bytes):
        return _json_default(value)
    if isinstance(value, Decimal | UUID | PurePath):
        return str(value)
    return value  # an object of the application's: its own str()/repr() is the best we know


class _Verbatim(str):
    """Text the console renderer shows as is (it quotes strings with spaces or quotes otherwise)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return str(self)


def _readable_fields(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event_dict.items():
        if key not in ("exc_info", "stack_info"):
            readable = _readable(value)
            if isinstance(value, _CONTAINERS):  # JSON needs no more quoting: {"a": [1]}, not '{"a": [1]}'
                readable = _Verbatim(readable)
            event_dict[key] = readable
    return event_dict


# -- loggers ------------------------------------------------------------------------------------------


def _to_stdlib(
    logger: _stdlib_logging.Logger, method_name: str, event_dict: MutableMapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Final processor: one standard log record with the fields in ``extra``."""
    kwargs: dict[str, Any] = {key: event_dict.pop(key) for key in _PASSED_THROUGH if key in event_dict}
    # Skip the frames of structlog (method, _proxy_to_logger) and of the stdlib
    # wrapper, so the record names the line that logged.
    kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + 3
    text = str(event_dict.pop("event", ""))
    fields = dict(event_dict)
    # canvas_event: the text alone, so that our formatters can render the fields their own way.
    kwargs["extra"] = {"fields": fields, "canvas_event": text}
    if not fields:
        return (text,), kwargs  # no arguments: the logging module does not %-format it
    # The message is a template with the values as its arguments, as with logging's own
    # logger.info("Paid %s", amount): error trackers group records by the template, so one
    # kind of error is one issue whatever its values. The text itself is never formatted.
    template = [text.replace("%", "%%")]
    values: list[str] = []
    for key, value in fields.items():
        pair = _logfmt(logger, method_name, {key: _readable(value)})
        template.append(f"{key.replace('%', '%%')}=%s")
        values.append(pair[len(key) + 1 :])
    return (" ".join(template), *values), kwargs


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


# -- formatters ---------------------------------------------------------------------------------------


def _event_and_fields(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Turn a record of ours back into its text and fields; other records keep their message."""
    record: _stdlib_logging.LogRecord = event_dict["_record"]
    text = getattr(record, "canvas_event", None)
    fields = getattr(record, "fields", None)
    if isinstance(text, str) and isinstance(fields, dict):
        event_dict.update(fields)
        event_dict["event"] = text
    return event_dict


def _timestamp(_: object, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """When the record was made (not when it was formatted), in ISO 8601, UTC."""
    record: _stdlib_logging.LogRecord = event_dict["_record"]
    moment = datetime.fromtimestamp(record.created, tz=UTC)
    event_dict["timestamp"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return event_dict


_PRE_CHAIN: list[Any] = [
    _event_and_fields,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    _timestamp,
]


def _wants_colours(stream: IO[str] | None) -> bool:
    """Colours on a terminal, unless ``NO_COLOR`` is set (https://no-color.org); ``FORCE_COLOR`` forces them."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


class ConsoleFormatter(structlog.stdlib.ProcessorFormatter):
    """Readable lines: ISO timestamp, level, message, ``key=value`` fields, logger name, then any traceback.

    ``colors``: ``None`` (the default) colours the output when ``stream``
    (default: standard error) is a terminal and ``NO_COLOR`` is not set.
    Works for records of any logger, structured or not.
    """

    def __init__(self, colors: bool | None = None, stream: IO[str] | None = None) -> None:
        renderer = structlog.dev.ConsoleRenderer(
            colors=_wants_colours(stream) if colors is None else colors,
            exception_formatter=structlog.dev.plain_traceback,
            sort_keys=False,
            pad_event_to=0,
        )
        super().__init__(
            foreign_pre_chain=_PRE_CHAIN,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, _readable_fields, renderer],
        )


class JSONFormatter(structlog.stdlib.ProcessorFormatter):
    """One JSON object per line: ``event``, the fields, ``level``, ``logger``, ``timestamp`` (ISO 8601, UTC).

    A traceback is one string under ``exception``. Values JSON cannot encode
    are written readably: dates in ISO 8601, sets as lists, others as text.
    """

    def __init__(self) -> None:
        super().__init__(
            foreign_pre_chain=_PRE_CHAIN,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                structlog.processors.JSONRenderer(default=_json_default, ensure_ascii=False),
            ],
        )


def configure(
    output: Output = "auto",
    *,
    level: int | str = "INFO",
    stream: IO[str] | None = None,
) -> _stdlib_logging.Handler:
    """Write every log record to ``stream`` (default: standard error), well formatted; return the handler.

    Installs one :class:`logging.StreamHandler` on the root logger, with a
    :class:`ConsoleFormatter` (``output="console"``) or a :class:`JSONFormatter`
    (``"json"``); ``"auto"`` chooses the console on a terminal and JSON
    otherwise. The root logger's level becomes ``level``. Calling it again
    replaces that handler; other handlers (``caplog``'s, an error tracker's,
    your own) are left alone and still receive every record.
    """
    if output not in ("auto", "console", "json"):
        raise ValueError(f"output must be 'auto', 'console' or 'json', got {output!r}")
    target = sys.stderr if stream is None else stream
    if output == "auto":
        isatty = getattr(target, "isatty", None)
        output = "console" if isatty is not None and isatty() else "json"
    handler = _stdlib_logging.StreamHandler(target)
    handler.set_name(HANDLER_NAME)
    handler.setFormatter(ConsoleFormatter(stream=target) if output == "console" else JSONFormatter())
    root = _stdlib_logging.getLogger()
    root.setLevel(level.upper() if isinstance(level, str) else level)  # first: a bad level changes nothing
    for existing in list(root.handlers):
        if existing.get_name() == HANDLER_NAME:
            root.removeHandler(existing)
            existing.close()
    root.addHandler(handler)
    return handler
