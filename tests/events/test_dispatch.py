"""emit_event and handle_event: registration checks and the dispatch rules."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import Field

from canvas_core import events
from canvas_core.events._dispatch import registry


class BeforeMessageSend(events.Event):
    message: str


class UrgentMessageSend(BeforeMessageSend):
    priority: int = 1


class Unrelated(events.Event):
    value: int = 0


class Billing:
    pass


class Invoices(Billing):
    pass


def recorder() -> tuple[list[tuple[str, events.Event]], Callable[[str], Callable[[events.Event], None]]]:
    calls: list[tuple[str, events.Event]] = []

    def make(name: str) -> Callable[[events.Event], None]:
        def handler(event: events.Event) -> None:
            calls.append((name, event))

        handler.__qualname__ = name
        return handler

    return calls, make


# -- emit_event --------------------------------------------------------------


def test_emit_returns_the_event_after_handlers_changed_it() -> None:
    @events.handle_event(BeforeMessageSend)
    def add_watermark(event: BeforeMessageSend) -> None:
        event.message = f"{event.message} (sent from Canvas)"

    sent = events.emit_event(BeforeMessageSend, message="Hello, world!")
    assert isinstance(sent, BeforeMessageSend)
    assert sent.message == "Hello, world! (sent from Canvas)"


def test_emit_without_handlers_returns_the_built_event() -> None:
    assert events.emit_event(Unrelated, value=3).value == 3


def test_emit_rejects_stray_positional_arguments() -> None:
    with pytest.raises(TypeError, match="keyword arguments only"):
        events.emit_event(BeforeMessageSend, None, "hello")  # type: ignore[call-arg]


def test_origin_may_be_passed_positionally_and_is_not_a_field() -> None:
    seen: list[object] = []
    events.handle_event(BeforeMessageSend, origin=Billing)(lambda event: seen.append(event))
    event = events.emit_event(BeforeMessageSend, Billing, message="x")
    assert seen == [event]
    assert "origin" not in type(event).model_fields


def test_construction_error_raises_before_any_handler_runs() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend)(make("h"))
    with pytest.raises(events.EventValidationError, match="bogus"):
        events.emit_event(BeforeMessageSend, message="x", bogus=1)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="message"):
        events.emit_event(BeforeMessageSend, message=3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="required field missing"):
        events.emit_event(BeforeMessageSend)  # type: ignore[call-arg]
    assert calls == []


def test_emit_needs_an_event_class() -> None:
    with pytest.raises(TypeError, match="needs an Event subclass"):
        events.emit_event(int)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs an Event subclass"):
        events.emit_event(dict, a=1)  # type: ignore[arg-type]


def test_emit_runs_a_custom_init() -> None:
    class SignupFormSubmitted(events.Event):
        email: str
        error_messages: defaultdict[str, list[str]]

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.error_messages = defaultdict(list)

    @events.handle_event(SignupFormSubmitted)
    def validate_email(event: SignupFormSubmitted) -> None:
        if "@" not in event.email:
            event.error_messages["email"].append("invalid")

    assert events.emit_event(SignupFormSubmitted, email="nope").error_messages == {"email": ["invalid"]}
    assert events.emit_event(SignupFormSubmitted, email="a@b").error_messages == {}


def test_emit_rejects_init_false_fields() -> None:
    class Typed(events.Event):
        email: str
        errors: list[str] = Field(default_factory=list, init=False)

    assert events.emit_event(Typed, email="a").errors == []
    with pytest.raises(TypeError, match="init=False"):
        events.emit_event(Typed, email="a", errors=["x"])  # type: ignore[call-arg]


# -- handle_event --------------------------------------------------------------


def test_handle_event_returns_the_same_function_still_callable() -> None:
    def handler(event: BeforeMessageSend) -> str:
        return event.message

    decorated = events.handle_event(BeforeMessageSend)(handler)
    assert decorated is handler
    assert decorated(BeforeMessageSend(message="direct")) == "direct"


@pytest.mark.parametrize(
    ("event_type", "match"),
    [(int, "needs an Event subclass"), (events.Event(), "needs an Event subclass"), ("Event", "needs an Event")],
)
def test_handle_event_rejects_non_event_types(event_type: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        events.handle_event(event_type)


def test_handle_event_rejects_unhashable_origin() -> None:
    with pytest.raises(TypeError, match="origin must be hashable"):
        events.handle_event(BeforeMessageSend, origin=[])  # type: ignore[arg-type]


def no_arguments() -> None: ...


def two_required(event: object, other: object) -> None: ...


def keyword_only(*, event: object) -> None: ...


@pytest.mark.parametrize(
    ("handler", "match"),
    [
        ("not callable", "decorates a callable"),
        (no_arguments, "exactly one positional argument"),
        (two_required, "exactly one positional argument"),
        (keyword_only, "exactly one positional argument"),
    ],
)
def test_bad_handlers_fail_at_decoration(handler: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        events.handle_event(BeforeMessageSend)(handler)
    assert events.registrations() == []


def test_flexible_signatures_are_accepted() -> None:
    def with_default(event: object, extra: int = 1) -> None: ...

    def star_args(*args: object) -> None: ...

    class Callable_:
        def __call__(self, event: object) -> None: ...

    for handler in (with_default, star_args, Callable_(), print):
        events.handle_event(BeforeMessageSend)(handler)
    assert len(events.registrations()) == 4


def test_registering_twice_registers_once() -> None:
    calls, make = recorder()
    handler = make("h")
    events.handle_event(BeforeMessageSend)(handler)
    events.handle_event(BeforeMessageSend)(handler)
    events.emit_event(BeforeMessageSend, message="x")
    assert len(calls) == 1
    assert len(events.registrations()) == 1


def test_same_bound_method_registers_once() -> None:
    class Listener:
        def __init__(self) -> None:
            self.count = 0

        def on_message(self, event: BeforeMessageSend) -> None:
            self.count += 1

    listener = Listener()
    events.handle_event(BeforeMessageSend)(listener.on_message)
    events.handle_event(BeforeMessageSend)(listener.on_message)
    events.emit_event(BeforeMessageSend, message="x")
    assert listener.count == 1


def test_remove_handler() -> None:
    calls, make = recorder()
    handler = make("h")
    events.handle_event(BeforeMessageSend)(handler)
    events.handle_event(BeforeMessageSend, origin=Billing)(handler)
    events.handle_event(Unrelated)(handler)

    assert events.remove_handler(handler, BeforeMessageSend, origin=Billing) == 1
    assert events.remove_handler(handler, BeforeMessageSend, origin=Billing) == 0
    events.emit_event(BeforeMessageSend, origin=Billing, message="x")
    assert len(calls) == 1  # the origin-less registration remains

    assert events.remove_handler(handler) == 2
    events.emit_event(BeforeMessageSend, message="x")
    events.emit_event(Unrelated)
    assert len(calls) == 1
    assert events.registrations() == []


def test_registrations_lists_type_origin_and_handler() -> None:
    def handler(event: events.Event) -> None: ...

    events.handle_event(BeforeMessageSend, origin="billing")(handler)
    assert events.registrations() == [events.Registration(BeforeMessageSend, "billing", handler)]


# -- dispatch rules --------------------------------------------------------------


def test_handlers_receive_subclasses_and_event_sees_everything() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend)(make("base"))
    events.handle_event(UrgentMessageSend)(make("urgent"))
    events.handle_event(events.Event)(make("all"))

    events.emit_event(UrgentMessageSend, message="x")
    assert sorted(name for name, _ in calls) == ["all", "base", "urgent"]
    calls.clear()
    events.emit_event(BeforeMessageSend, message="x")
    assert sorted(name for name, _ in calls) == ["all", "base"]
    calls.clear()
    events.emit_event(Unrelated)
    assert [name for name, _ in calls] == ["all"]


def test_a_handler_runs_at_most_once_per_emission() -> None:
    calls, make = recorder()
    handler = make("h")
    events.handle_event(events.Event)(handler)
    events.handle_event(BeforeMessageSend)(handler)
    events.handle_event(UrgentMessageSend)(handler)
    events.handle_event(UrgentMessageSend, origin=Billing)(handler)
    events.emit_event(UrgentMessageSend, origin=Billing, message="x")
    assert len(calls) == 1


def test_origin_scoping() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend)(make("any"))
    events.handle_event(BeforeMessageSend, origin=Billing)(make("billing"))
    events.handle_event(BeforeMessageSend, origin="shop")(make("shop"))

    def names(origin: object) -> list[str]:
        calls.clear()
        events.emit_event(BeforeMessageSend, origin=origin, message="x")
        return sorted(name for name, _ in calls)

    assert names(None) == ["any"]
    assert names(Billing) == ["any", "billing"]
    assert names("shop") == ["any", "shop"]
    assert names("elsewhere") == ["any"]


def test_class_origins_include_subclasses() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend, origin=Billing)(make("billing"))
    events.handle_event(BeforeMessageSend, origin=Invoices)(make("invoices"))

    events.emit_event(BeforeMessageSend, origin=Invoices, message="x")
    assert sorted(name for name, _ in calls) == ["billing", "invoices"]
    calls.clear()
    events.emit_event(BeforeMessageSend, origin=Billing, message="x")
    assert [name for name, _ in calls] == ["billing"]
    calls.clear()
    events.emit_event(BeforeMessageSend, origin=Billing(), message="x")  # an instance is not the class
    assert calls == []


def test_equal_origins_match() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend, origin=("tenant", 1))(make("t1"))
    events.emit_event(BeforeMessageSend, origin=("tenant", 1), message="x")
    events.emit_event(BeforeMessageSend, origin=("tenant", 2), message="x")
    assert [name for name, _ in calls] == ["t1"]


def test_unhashable_origin_emission_still_dispatches() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend)(make("any"))
    events.emit_event(BeforeMessageSend, origin={"not": "hashable"}, message="x")
    assert len(calls) == 1


def test_registration_during_emission_does_not_change_it() -> None:
    calls, make = recorder()
    late = make("late")

    @events.handle_event(BeforeMessageSend)
    def registers_another(event: BeforeMessageSend) -> None:
        calls.append(("registers", event))
        events.handle_event(BeforeMessageSend)(late)

    events.emit_event(BeforeMessageSend, message="first")
    assert [name for name, _ in calls] == ["registers"]
    calls.clear()
    events.emit_event(BeforeMessageSend, message="second")
    assert sorted(name for name, _ in calls) == ["late", "registers"]


def test_removal_during_emission_does_not_change_it() -> None:
    calls, make = recorder()
    victims = [make("a"), make("b")]
    for victim in victims:
        events.handle_event(BeforeMessageSend)(victim)

    @events.handle_event(BeforeMessageSend)
    def remover(event: BeforeMessageSend) -> None:
        for victim in victims:
            events.remove_handler(victim)

    events.emit_event(BeforeMessageSend, message="x")
    assert sorted(name for name, _ in calls) == ["a", "b"]
    calls.clear()
    events.emit_event(BeforeMessageSend, message="x")
    assert calls == []


def test_lookup_is_cached_and_invalidated_by_registrations() -> None:
    calls, make = recorder()
    events.handle_event(BeforeMessageSend)(make("a"))
    events.emit_event(BeforeMessageSend, origin=Billing, message="x")
    assert (BeforeMessageSend, Billing) in registry.plans

    events.handle_event(BeforeMessageSend, origin=Billing)(make("b"))
    assert registry.plans == {}
    calls.clear()
    events.emit_event(BeforeMessageSend, origin=Billing, message="x")
    assert sorted(name for name, _ in calls) == ["a", "b"]


def test_plan_cache_is_bounded_for_per_call_origins() -> None:
    from canvas_core.events import _registry

    for index in range(_registry._MAX_PLANS + 10):
        events.emit_event(Unrelated, origin=("request", index))
    assert len(registry.plans) <= _registry._MAX_PLANS


def test_handlers_for_lists_matching_handlers() -> None:
    def a(event: events.Event) -> None: ...

    def b(event: events.Event) -> None: ...

    events.handle_event(BeforeMessageSend)(a)
    events.handle_event(UrgentMessageSend, origin=Billing)(b)
    assert set(events.handlers_for(UrgentMessageSend, Billing)) == {a, b}
    assert events.handlers_for(BeforeMessageSend, Billing) == (a,)
    assert events.handlers_for(Unrelated) == ()
