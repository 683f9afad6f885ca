"""What a console reader and a JSON consumer receive from canvas_core.logging.configure() and its formatters."""

from __future__ import annotations

import io
import json
import logging
import logging.config
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvas_core import logging as canvas_logging

WHEN = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_root_logger(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def _log_a_change() -> None:
    canvas_logging.get_logger("shop.settings").info(
        "A setting was changed.", setting="site_name", when=WHEN, limits={"max": [1, 2]}, title="Canvas Shop"
    )


def _fail() -> None:
    try:
        raise ValueError("the sync broke")
    except ValueError:
        canvas_logging.get_logger("shop.sync").exception("Could not sync.", attempt=2)


def test_console_lines_are_readable() -> None:
    stream = io.StringIO()
    canvas_logging.configure("console", stream=stream)
    _log_a_change()
    line = stream.getvalue()
    assert re.fullmatch(
        TIMESTAMP + r" \[info\s*\] A setting was changed\. \[shop\.settings\] setting=site_name "
        r'when=2026-12-01T10:30:00\+00:00 limits=\{"max": \[1, 2\]\} title=\'Canvas Shop\'\n',
        line,
    ), line
    assert "\x1b[" not in line  # not a terminal: no colours


def test_console_colours_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = Terminal()
    canvas_logging.configure("console", stream=terminal)
    _log_a_change()
    assert "\x1b[" in terminal.getvalue()

    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    canvas_logging.configure("console", stream=terminal)
    _log_a_change()
    assert "\x1b[" not in terminal.getvalue()


def test_auto_is_the_console_on_a_terminal_and_json_elsewhere() -> None:
    terminal, pipe = Terminal(), io.StringIO()
    canvas_logging.configure(stream=terminal)
    _log_a_change()
    canvas_logging.configure(stream=pipe)
    _log_a_change()
    assert terminal.getvalue().count("A setting was changed.") == 1
    assert "\x1b[" in terminal.getvalue()
    assert json.loads(pipe.getvalue())["event"] == "A setting was changed."


def test_json_lines_carry_the_fields_as_values(monkeypatch: pytest.MonkeyPatch) -> None:
    # Other tests (Django set-ups among them) may have left these loggers quieted: start them as new.
    for name in ("django", "django.request"):
        monkeypatch.setattr(logging.getLogger(name), "disabled", False)
        monkeypatch.setattr(logging.getLogger(name), "propagate", True)
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
        logging.getLogger(name).setLevel(logging.NOTSET)  # also clears the loggers' isEnabledFor caches
    stream = io.StringIO()
    canvas_logging.configure("json", stream=stream)
    _log_a_change()
    logging.getLogger("django.request").warning("Not Found: %s", "/missing")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    timestamp = first.pop("timestamp")
    assert re.fullmatch(TIMESTAMP, timestamp)
    assert first == {
        "event": "A setting was changed.",
        "setting": "site_name",
        "when": "2026-12-01T10:30:00+00:00",
        "limits": {"max": [1, 2]},
        "title": "Canvas Shop",
        "level": "info",
        "logger": "shop.settings",
    }
    del second["timestamp"]
    assert second == {"event": "Not Found: /missing", "level": "warning", "logger": "django.request"}


def test_values_json_cannot_hold_are_written_readably() -> None:
    stream = io.StringIO()
    canvas_logging.configure("json", stream=stream)
    canvas_logging.get_logger("shop").info(
        "Odd values.", day=date(2026, 1, 2), price=Decimal("9.90"), id=UUID(int=1), tags={"b"}, raw=b"ab"
    )
    line = json.loads(stream.getvalue())
    assert [line[key] for key in ("day", "price", "id", "tags", "raw")] == [
        "2026-01-02",
        "9.90",
        "00000000-0000-0000-0000-000000000001",
        ["b"],
        "ab",
    ]


@pytest.mark.parametrize("output", ["console", "json"])
def test_an_exception_is_rendered_once(output: canvas_logging.Output) -> None:
    stream = io.StringIO()
    canvas_logging.configure(output, stream=stream)
    _fail()
    text = stream.getvalue()
    if output == "json":
        line = json.loads(text)
        assert line["event"] == "Could not sync."
        text = line["exception"]
    assert text.count("Traceback (most recent call last)") == 1
    assert text.count("ValueError: the sync broke") == 1


def test_other_handlers_still_receive_plain_records(caplog: pytest.LogCaptureFixture) -> None:
    """caplog and error trackers (Sentry's SDK hooks the logging module) see the record, traceback included."""
    kept: list[logging.LogRecord] = []

    class ErrorTracker(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    tracker = ErrorTracker()
    logging.getLogger().addHandler(tracker)
    canvas_logging.configure("json", stream=io.StringIO())
    _fail()
    logging.getLogger().removeHandler(tracker)
    (record,) = kept
    assert record.getMessage() == "Could not sync. attempt=2"
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError  # formatting did not take it away
    assert [r.getMessage() for r in caplog.records] == ["Could not sync. attempt=2"]


def test_the_message_itself_is_readable(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    _log_a_change()
    assert caplog.records[0].getMessage() == (
        "A setting was changed. setting=site_name when=2026-12-01T10:30:00+00:00 "
        'limits="{\\"max\\": [1, 2]}" title="Canvas Shop"'
    )
    assert caplog.records[0].fields["when"] == WHEN  # type: ignore[attr-defined]


def test_configure_again_replaces_its_handler_and_sets_the_level() -> None:
    canvas_logging.configure("json", stream=io.StringIO(), level="warning")
    stream = io.StringIO()
    canvas_logging.configure("json", stream=stream, level=logging.DEBUG)
    ours = [h for h in logging.getLogger().handlers if h.get_name() == canvas_logging.HANDLER_NAME]
    assert len(ours) == 1
    assert logging.getLogger().level == logging.DEBUG
    canvas_logging.get_logger("shop").debug("Shown.")
    assert json.loads(stream.getvalue())["level"] == "debug"


def test_a_wrong_output_says_which_are_valid() -> None:
    with pytest.raises(ValueError, match="'auto', 'console' or 'json'"):
        canvas_logging.configure("pretty")  # type: ignore[arg-type]


STREAM = io.StringIO()


def test_the_formatters_work_from_a_logging_dict() -> None:
    """The LOGGING recipe of the logging guide."""
    STREAM.seek(0)
    STREAM.truncate()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"json": {"()": "canvas_core.logging.JSONFormatter"}},
            "handlers": {
                "out": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": "ext://tests.test_logging_output.STREAM",
                }
            },
            "loggers": {"shop": {"handlers": ["out"], "level": "INFO", "propagate": False}},
        }
    )
    try:
        _log_a_change()
    finally:
        logging.config.dictConfig({"version": 1, "disable_existing_loggers": False, "loggers": {"shop": {}}})
        logging.getLogger("shop").handlers.clear()
        logging.getLogger("shop").propagate = True
    assert json.loads(STREAM.getvalue())["limits"] == {"max": [1, 2]}


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None)
@given(
    text=st.text(),
    fields=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
            lambda k: k not in ("event", "level", "logger", "timestamp", "exc_info", "stack_info", "stacklevel")
        ),
        _json_values,
        max_size=4,
    ),
)
def test_a_json_consumer_gets_back_exactly_what_was_logged(text: str, fields: dict[str, object]) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(canvas_logging.JSONFormatter())
    logger = logging.getLogger("roundtrip")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        canvas_logging.get_logger("roundtrip").info(text, **fields)
    finally:
        logger.removeHandler(handler)
    (line,) = stream.getvalue().rstrip("\n").split("\n")  # JSON lines end at \n (not at U+0085)
    received = json.loads(line)
    assert received.pop("event") == text
    assert {key: received[key] for key in fields} == fields


@settings(max_examples=100, deadline=None)
@given(
    text=st.text(),
    fields=st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_%]{0,10}", fullmatch=True).filter(
            lambda k: k not in ("exc_info", "stack_info", "stacklevel")
        ),
        _json_values,
        max_size=4,
    ),
)
def test_the_message_is_the_text_then_logfmt_and_its_template_holds_no_value(
    text: str, fields: dict[str, object]
) -> None:
    """``record.msg % record.args`` is the readable line; the template names the fields, never their values."""
    kept: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = kept.append  # type: ignore[method-assign, assignment]
    logger = logging.getLogger("template")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        canvas_logging.get_logger("template").info(text, **fields)
    finally:
        logger.removeHandler(handler)
    (record,) = kept
    pairs = [f"{key}={value}" for key, value in zip(fields, record.args or (), strict=True)]
    assert record.getMessage() == " ".join([text, *pairs])
    if fields:
        assert record.msg == " ".join([text.replace("%", "%%"), *(f"{key.replace('%', '%%')}=%s" for key in fields)])
    else:
        assert (record.msg, record.args) == (text, ())
