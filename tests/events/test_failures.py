"""Handler failures: isolated, logged, reported once; BaseException propagates; nesting is bounded."""

from __future__ import annotations

import logging

import pytest
from pydantic import Field, SecretStr

from canvas_core import events


class BeforeMessageSend(events.Event):
    message: str


class Login(events.Event):
    username: str
    password: SecretStr
    token: str = Field(repr=False)


class Billing:
    pass


def failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "canvas_core.events" and r.levelno == logging.ERROR]


def test_a_failing_handler_does_not_stop_the_others_nor_reach_the_emitter(caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    @events.handle_event(BeforeMessageSend)
    def first(event: BeforeMessageSend) -> None:
        ran.append("first")

    @events.handle_event(BeforeMessageSend)
    def broken(event: BeforeMessageSend) -> None:
        event.message = "half-done"
        raise ValueError("boom")

    @events.handle_event(BeforeMessageSend)
    def last(event: BeforeMessageSend) -> None:
        ran.append("last")

    sent = events.emit_event(BeforeMessageSend, message="x")
    assert sorted(ran) == ["first", "last"]
    assert sent.message == "half-done"  # what the failing handler did before raising stays


def test_failure_is_logged_with_traceback_handler_type_and_origin(caplog: pytest.LogCaptureFixture) -> None:
    @events.handle_event(BeforeMessageSend)
    def broken(event: BeforeMessageSend) -> None:
        raise ValueError("boom")

    events.emit_event(BeforeMessageSend, origin=Billing, message="x")
    [record] = failures(caplog)
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    message = record.getMessage()
    assert "test_failures.test_failure_is_logged_with_traceback_handler_type_and_origin.<locals>.broken" in message
    assert "BeforeMessageSend" in message
    assert "tests.events.test_failures.Billing" in message
    assert record.event_type == "BeforeMessageSend"  # type: ignore[attr-defined]
    assert record.origin == "tests.events.test_failures.Billing"  # type: ignore[attr-defined]
    assert "raise ValueError" in caplog.text  # the traceback is in the formatted output


def test_field_values_and_secrets_never_reach_the_log(caplog: pytest.LogCaptureFixture) -> None:
    @events.handle_event(Login)
    def broken(event: Login) -> None:
        raise RuntimeError("login failed")

    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)

    events.emit_event(Login, username="ada", password=SecretStr("hunter2"), token="tok-secret")
    assert failures(caplog)
    for secret in ("hunter2", "tok-secret", "ada"):
        assert secret not in caplog.text
    assert "hunter2" not in repr(reported[0])
    assert "tok-secret" not in repr(reported[0])


def test_object_origin_is_described_without_its_state(caplog: pytest.LogCaptureFixture) -> None:
    class Request:
        def __repr__(self) -> str:
            return "Request(password='hunter2')"

    events.handle_event(BeforeMessageSend)(lambda event: 1 / 0)
    events.emit_event(BeforeMessageSend, origin=Request(), message="x")
    assert "hunter2" not in caplog.text
    assert "Request object>" in caplog.text


def test_failure_is_reported_as_handler_failed(caplog: pytest.LogCaptureFixture) -> None:
    error = ValueError("boom")

    def broken(event: BeforeMessageSend) -> None:
        raise error

    events.handle_event(BeforeMessageSend)(broken)
    reports: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reports.append)
    scoped: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed, origin=BeforeMessageSend)(scoped.append)
    elsewhere: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed, origin=Login)(elsewhere.append)

    sent = events.emit_event(BeforeMessageSend, message="x")
    [report] = reports
    assert report.event is sent
    assert report.handler is broken
    assert report.exception is error
    assert scoped == [report]
    assert elsewhere == []


def test_failing_reporter_is_logged_not_re_reported(caplog: pytest.LogCaptureFixture) -> None:
    events.handle_event(BeforeMessageSend)(lambda event: 1 / 0)
    calls: list[events.HandlerFailed] = []

    @events.handle_event(events.HandlerFailed)
    def broken_reporter(event: events.HandlerFailed) -> None:
        calls.append(event)
        raise RuntimeError("reporting is down")

    events.emit_event(BeforeMessageSend, message="x")
    assert len(calls) == 1
    logged = failures(caplog)
    assert len(logged) == 2
    assert logged[1].exc_info is not None
    assert logged[1].exc_info[0] is RuntimeError


@pytest.mark.parametrize("exception", [KeyboardInterrupt, SystemExit, GeneratorExit])
def test_base_exceptions_propagate(exception: type[BaseException], caplog: pytest.LogCaptureFixture) -> None:
    ran: list[str] = []

    @events.handle_event(BeforeMessageSend)
    def interrupted(event: BeforeMessageSend) -> None:
        raise exception

    with pytest.raises(exception):
        events.emit_event(BeforeMessageSend, message="x")
    assert failures(caplog) == []
    events.remove_handler(interrupted)
    events.handle_event(BeforeMessageSend)(lambda event: ran.append("ok"))
    events.emit_event(BeforeMessageSend, message="x")  # the emission stack was unwound
    assert ran == ["ok"]


def test_runaway_re_emission_stops_at_the_nesting_limit(caplog: pytest.LogCaptureFixture) -> None:
    depth: list[int] = []

    @events.handle_event(BeforeMessageSend)
    def echo(event: BeforeMessageSend) -> None:
        depth.append(len(event.message))
        events.emit_event(BeforeMessageSend, message=event.message + "x")

    reports: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reports.append)

    sent = events.emit_event(BeforeMessageSend, message="x")
    assert sent.message == "x"
    assert len(depth) == events.MAX_NESTING_DEPTH
    [logged] = failures(caplog)  # one error, not a storm
    assert logged.exc_info is not None
    assert logged.exc_info[0] is events.EventNestingError
    assert "nest" in str(logged.exc_info[1])
    [report] = reports
    assert isinstance(report.exception, events.EventNestingError)


def test_nesting_below_the_limit_is_fine() -> None:
    class Countdown(events.Event):
        n: int

    seen: list[int] = []

    @events.handle_event(Countdown)
    def count(event: Countdown) -> None:
        seen.append(event.n)
        if event.n > 1:
            events.emit_event(Countdown, n=event.n - 1)

    events.emit_event(Countdown, n=events.MAX_NESTING_DEPTH)
    assert seen == list(range(events.MAX_NESTING_DEPTH, 0, -1))
