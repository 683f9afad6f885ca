"""The per-emission DEBUG log line."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from canvas_core import events

LOGGER = "canvas_core.events.emissions"


class Ping(events.Event):
    secret: str = "hunter2"


@pytest.fixture
def emission_log() -> Iterator[None]:
    events.log_emissions()
    try:
        yield
    finally:
        events.log_emissions(False)


@pytest.mark.canvas_fail_on_handler_error(False)  # handlers fail on purpose
def test_one_debug_line_per_emission(caplog: pytest.LogCaptureFixture, emission_log: None) -> None:
    events.handle_event(Ping)(lambda event: None)

    @events.handle_event(Ping)
    def broken(event: Ping) -> None:
        raise ValueError("no")

    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        events.emit_event(Ping, origin="shop")
    lines = [r for r in caplog.records if r.name == LOGGER]
    ping, failed = sorted(lines, key=lambda r: r.fields["event_type"] != "Ping")  # type: ignore[attr-defined]
    assert ping.levelno == logging.DEBUG
    fields = ping.fields  # type: ignore[attr-defined]
    assert {k: v for k, v in fields.items() if k != "duration_ms"} == {
        "event_type": "Ping",
        "origin": "'shop'",
        "handlers": 2,
        "failed": 1,
    }
    assert isinstance(fields["duration_ms"], float)
    assert fields["duration_ms"] >= 0
    assert ping.getMessage().startswith("Event emitted. event_type=Ping origin='shop' handlers=2 failed=1 duration_ms=")
    assert "hunter2" not in ping.getMessage()
    assert failed.fields["event_type"] == "HandlerFailed"  # type: ignore[attr-defined]
    assert (ping.pathname, ping.funcName) == (__file__, "test_one_debug_line_per_emission")  # the emitting line


def test_nothing_is_logged_when_debug_is_off(caplog: pytest.LogCaptureFixture, emission_log: None) -> None:
    with caplog.at_level(logging.INFO, logger=LOGGER):
        events.emit_event(Ping)
    assert [r for r in caplog.records if r.name == LOGGER] == []


def test_nothing_is_logged_until_turned_on(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=LOGGER):
        events.emit_event(Ping)
        events.log_emissions()
        events.log_emissions()  # twice is once
        events.emit_event(Ping)
        events.log_emissions(False)
        events.emit_event(Ping)
    assert len([r for r in caplog.records if r.name == LOGGER]) == 1
    assert not any(isinstance(i, events.EmissionLog) for i in events.installed_instruments())
