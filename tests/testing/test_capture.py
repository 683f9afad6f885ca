"""Capturing emissions: the ``captured_events`` fixture and ``capture_events()``."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.testing import ANY_ORIGIN, EventCapture, capture_events


class Setting:
    def __init__(self, value: str = "") -> None:
        self.value = value


class SiteSetting(Setting):
    pass


class Message(events.Event):
    text: str


class Other(events.Event):
    pass


def test_the_fixture_captures_type_origin_and_the_final_instance(captured_events: EventCapture) -> None:
    @events.handle_event(Message)
    def shout(event: Message) -> None:
        event.text = event.text.upper()

    events.emit_event(Message, origin="mail", text="hi")
    (captured,) = captured_events.emissions
    assert captured.event_type is Message
    assert captured.origin == "mail"
    assert isinstance(captured.event, Message)
    assert captured.event.text == "HI"
    assert captured.handlers == (shout,)
    assert captured.failures == []


def test_one_finds_the_record_update_in_the_issue(captured_events: EventCapture) -> None:
    setting = SiteSetting("x")
    events.emit_event(events.PostRecordUpdate, origin=SiteSetting, record=setting, diff={"value": ("", "x")})
    events.emit_event(events.PostRecordUpdate, origin=SiteSetting, record=setting, diff={"name": ("a", "b")})
    events.emit_event(events.PostRecordCreate, origin=SiteSetting, record=setting)

    update = captured_events.one(
        events.PostRecordUpdate[Setting], origin=Setting, where=lambda event: "value" in event.diff
    )
    assert update.diff == {"value": ("", "x")}
    assert update.record is setting
    assert len(captured_events.events(events.PostRecordUpdate[Setting])) == 2
    assert len(captured_events.events(events.RecordEvent[Setting])) == 3


def test_one_explains_what_was_captured_when_it_fails(captured_events: EventCapture) -> None:
    events.emit_event(Message, origin=Setting, text="secret value")
    events.emit_event(Other)
    with pytest.raises(AssertionError) as failure:
        captured_events.one(Message, origin=None)
    assert str(failure.value) == (
        "expected exactly one Message with origin None, found 0; 2 emission(s) captured:\n"
        "  1. Message (origin: tests.testing.test_capture.Setting)\n"
        "  2. Other (origin: None)"
    )
    assert "secret" not in str(failure.value)  # field values never appear
    events.emit_event(Message, text="again")
    with pytest.raises(AssertionError, match="expected exactly one Message, found 2"):
        captured_events.one(Message)


def test_origin_matching(captured_events: EventCapture) -> None:
    events.emit_event(Other, origin=SiteSetting)
    events.emit_event(Other, origin="text")
    events.emit_event(Other)
    assert len(captured_events.events(Other)) == 3
    assert len(captured_events.events(Other, origin=ANY_ORIGIN)) == 3
    assert len(captured_events.events(Other, origin=Setting)) == 1
    assert len(captured_events.events(Other, origin="text")) == 1
    assert len(captured_events.events(Other, origin=None)) == 1


def test_assert_emitted_and_not_emitted(captured_events: EventCapture) -> None:
    events.emit_event(Message, text="a")
    events.emit_event(Message, text="b")
    captured_events.assert_emitted(Message)
    captured_events.assert_emitted(Message, times=2)
    captured_events.assert_emitted(Message, where=lambda e: e.text == "b", times=1)
    captured_events.assert_not_emitted(Other)
    with pytest.raises(AssertionError, match="expected at least one Other, found 0"):
        captured_events.assert_emitted(Other)
    with pytest.raises(AssertionError, match=r"expected exactly 0 Message satisfying .*<lambda>, found 1"):
        captured_events.assert_not_emitted(Message, where=lambda e: e.text == "a")
    with pytest.raises(AssertionError, match="expected exactly 3 Message, found 2"):
        captured_events.assert_emitted(Message, times=3)


def test_bad_event_type_is_a_clear_error(captured_events: EventCapture) -> None:
    with pytest.raises(TypeError, match="expected an Event subclass"):
        captured_events.events(Setting)  # type: ignore[type-var]


@pytest.mark.canvas_fail_on_handler_error(False)  # handlers fail on purpose
def test_nested_emissions_are_listed_in_start_order_and_failures_kept(captured_events: EventCapture) -> None:
    @events.handle_event(Message)
    def forward(event: Message) -> None:
        events.emit_event(Other)
        raise RuntimeError("after forwarding")

    events.emit_event(Message, text="x")
    kinds = [c.event_type for c in captured_events]
    assert kinds == [Message, Other, events.HandlerFailed]
    assert [(h, str(e)) for h, e in captured_events.emissions[0].failures] == [(forward, "after forwarding")]
    assert len(captured_events) == 3
    captured_events.clear()
    assert len(captured_events) == 0


def test_validation_errors_are_not_captured(captured_events: EventCapture) -> None:
    with pytest.raises(events.EventValidationError):
        events.emit_event(Message)  # type: ignore[call-arg]
    assert captured_events.emissions == []


def test_capture_events_without_pytest_stops_at_the_end_of_the_block() -> None:
    with capture_events() as captured:
        events.emit_event(Other)
    events.emit_event(Other)
    assert len(captured) == 1


@given(st.lists(st.tuples(st.sampled_from([Message, Other]), st.sampled_from([None, "a", Setting]))))
def test_capture_records_exactly_what_was_emitted(emissions: list[tuple[type[events.Event], Any]]) -> None:
    with capture_events() as captured:
        for kind, origin in emissions:
            if kind is Message:
                events.emit_event(Message, origin=origin, text="t")
            else:
                events.emit_event(Other, origin=origin)
    assert [(c.event_type, c.origin) for c in captured] == emissions
    for origin in (None, "a", Setting):
        expected = sum(1 for kind, o in emissions if kind is Message and o == origin)
        assert len(captured.events(Message, origin=origin)) == expected
