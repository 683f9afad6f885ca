"""canvas_core.logging: structlog loggers that deliver standard log records."""

from __future__ import annotations

import logging

import pytest
import structlog

from canvas_core.logging import get_logger


def test_records_reach_the_standard_logger(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="myapp.settings")
    logger = get_logger("myapp.settings")
    logger.info("A setting was changed.", setting="site_name", old_value="a", new_value="b c")

    [record] = caplog.records
    assert record.name == "myapp.settings"
    assert record.levelno == logging.INFO
    assert record.getMessage() == 'A setting was changed. setting=site_name old_value=a new_value="b c"'
    assert record.fields == {"setting": "site_name", "old_value": "a", "new_value": "b c"}  # type: ignore[attr-defined]


def test_record_points_at_the_caller(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    get_logger("myapp").info("hello")
    [record] = caplog.records
    assert record.pathname == __file__
    assert record.funcName == "test_record_points_at_the_caller"


def test_levels_are_filtered_by_the_standard_configuration(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="quiet")
    logger = get_logger("quiet")
    logger.debug("not shown", x=1)
    logger.info("not shown")
    logger.warning("shown", x=1)
    assert [r.getMessage() for r in caplog.records] == ["shown x=1"]


def test_exception_keeps_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    logger = get_logger("myapp")
    try:
        raise ValueError("broken")
    except ValueError:
        logger.exception("Could not sync.", attempt=2)
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert record.getMessage() == "Could not sync. attempt=2"


def test_percent_signs_are_not_format_directives(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    get_logger("myapp").info("100% done %s", ratio="50%")
    assert caplog.records[0].getMessage() == "100% done %s ratio=50%"


def test_bound_and_context_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    logger = get_logger("myapp").bind(request_id="r-1")
    structlog.contextvars.bind_contextvars(user="ada")
    try:
        logger.info("Done.", items=3)
    finally:
        structlog.contextvars.clear_contextvars()
    [record] = caplog.records
    assert record.fields == {"user": "ada", "request_id": "r-1", "items": 3}  # type: ignore[attr-defined]


def test_reserved_record_attribute_names_are_safe_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    get_logger("myapp").info("Renamed.", name="new", msg="m", args=(1,))
    [record] = caplog.records
    assert record.name == "myapp"
    assert record.fields == {"name": "new", "msg": "m", "args": (1,)}  # type: ignore[attr-defined]


def test_record_points_at_the_caller_for_every_method(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    logger = get_logger("myapp")
    logger.debug("d")
    logger.warning("w")
    logger.error("e")
    try:
        raise ValueError
    except ValueError:
        logger.exception("x")
    assert {record.pathname for record in caplog.records} == {__file__}
