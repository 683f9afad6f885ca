"""Event construction and assignment: pydantic validation, TypeError on bad input."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from pydantic import Field, ValidationError

from canvas_core import events


class BeforeMessageSend(events.Event):
    message: str


class WithDefaults(events.Event):
    name: str
    tags: list[str] = Field(default_factory=list)
    retries: int = 3


class SignupFormSubmitted(events.Event):
    email: str
    error_messages: defaultdict[str, list[str]]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.error_messages = defaultdict(list)


class TypedSignup(events.Event):
    """The typed alternative to a custom __init__."""

    email: str
    error_messages: defaultdict[str, list[str]] = Field(
        default_factory=lambda: defaultdict[str, list[str]](list), init=False
    )


def test_fields_are_assigned() -> None:
    event = BeforeMessageSend(message="hi")
    assert event.message == "hi"


def test_unknown_field_is_a_type_error_naming_the_field() -> None:
    with pytest.raises(TypeError, match="bogus: unknown field") as info:
        BeforeMessageSend(message="hi", bogus=1)  # type: ignore[call-arg]
    assert isinstance(info.value, events.EventValidationError)
    assert not isinstance(info.value, ValidationError)


def test_wrong_type_is_a_type_error_with_pydantic_details() -> None:
    with pytest.raises(events.EventValidationError) as info:
        BeforeMessageSend(message=["not", "a", "string"])  # type: ignore[arg-type]
    assert [error["loc"] for error in info.value.errors()] == [("message",)]
    assert info.value.errors()[0]["type"] == "string_type"
    assert info.value.event_type is BeforeMessageSend


def test_error_message_does_not_contain_the_value() -> None:
    with pytest.raises(TypeError) as info:
        BeforeMessageSend(message={"password": "hunter2"})  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)
    assert all("input" not in error for error in info.value.errors())  # type: ignore[attr-defined]


def test_missing_required_field_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="message: required field missing"):
        BeforeMessageSend()  # type: ignore[call-arg]


def test_positional_arguments_are_rejected() -> None:
    with pytest.raises(TypeError):
        BeforeMessageSend("hi")  # type: ignore[call-arg]


def test_defaults_and_default_factories() -> None:
    first, second = WithDefaults(name="a"), WithDefaults(name="b")
    assert first.retries == 3
    first.tags.append("x")
    assert second.tags == []


def test_assignment_is_validated_and_raises_type_error() -> None:
    event = BeforeMessageSend(message="hi")
    event.message = "changed"
    assert event.message == "changed"
    with pytest.raises(events.EventValidationError, match="message"):
        event.message = 42  # type: ignore[assignment]
    assert event.message == "changed"


def test_assignment_error_is_a_type_error_on_every_assignment() -> None:
    # pydantic memoizes the per-attribute setter after the first assignment.
    event = BeforeMessageSend(message="hi")
    for _ in range(3):
        event.message = "ok"
        with pytest.raises(TypeError):
            event.message = None  # type: ignore[assignment]


def test_arbitrary_types_are_checked_with_isinstance() -> None:
    class Record:
        pass

    class Saved(events.Event):
        record: Record

    record = Record()
    assert Saved(record=record).record is record
    with pytest.raises(TypeError, match="record"):
        Saved(record=object())  # type: ignore[arg-type]


def test_custom_init_may_fill_required_fields_after_super() -> None:
    event = SignupFormSubmitted(email="ada@example.com")
    assert event.error_messages == {}
    event.error_messages["email"].append("taken")
    assert event.error_messages == {"email": ["taken"]}


def test_custom_init_still_validates_what_it_is_given() -> None:
    with pytest.raises(TypeError, match="email"):
        SignupFormSubmitted(email=1)
    with pytest.raises(TypeError, match="bogus"):
        SignupFormSubmitted(email="a@b", bogus=1)


def test_custom_init_that_forgets_a_required_field_raises() -> None:
    class Forgetful(events.Event):
        email: str
        normalized: str

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)

    with pytest.raises(TypeError, match="normalized: required field missing"):
        Forgetful(email="a@b")
    assert Forgetful(email="a@b", normalized="x").normalized == "x"


def test_custom_init_missing_field_given_by_caller_is_not_required_from_init() -> None:
    event = SignupFormSubmitted(email="a@b", error_messages=defaultdict(list, {"x": ["y"]}))
    # The __init__ overwrites it, as written.
    assert event.error_messages == {}


def test_nested_custom_inits_check_after_the_outermost() -> None:
    class Base(events.Event):
        a: int
        b: int

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.a = 1

    class Child(Base):
        c: int

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)  # Base's check must not fire before b and c are set
            self.b = 2
            self.c = 3

    assert (Child().a, Child().b, Child().c) == (1, 2, 3)
    with pytest.raises(TypeError, match="b: required field missing"):
        Base()


def test_custom_init_with_defaults_applies_them() -> None:
    class Form(events.Event):
        email: str
        errors: list[str]
        source: str = "web"

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.errors = []

    assert Form(email="a").source == "web"
    assert Form(email="a", source="api").source == "api"


def test_typed_alternative_to_custom_init() -> None:
    event = TypedSignup(email="a@b")
    event.error_messages["email"].append("bad")
    assert event.error_messages == {"email": ["bad"]}
    with pytest.raises(TypeError, match=r"error_messages: declared with Field\(init=False\)"):
        TypedSignup(email="a@b", error_messages=defaultdict(list))  # type: ignore[call-arg]


def test_a_field_named_fields_is_rejected_at_class_definition() -> None:
    # pyright binds the keyword to emit_event's own **fields parameter.
    with pytest.raises(TypeError, match=r"Tagged.fields: an event field cannot be passed as 'fields'.*'field_names'"):

        class Tagged(events.Event):
            fields: list[str]  # type: ignore[event-field]

    with pytest.raises(TypeError, match="cannot be passed as 'fields'"):

        class Aliased(events.Event):
            names: list[str] = Field(alias="fields")  # type: ignore[event-field]

    class Computed(events.Event):  # never passed, so no conflict
        fields: list[str] = Field(default_factory=list, init=False)

    assert events.emit_event(Computed).fields == []


def test_a_field_named_origin_is_rejected_at_class_definition() -> None:
    with pytest.raises(TypeError, match=r"Located.origin: an event field cannot be passed as 'origin'"):

        class Located(events.Event):
            origin: str  # type: ignore[event-field]

    with pytest.raises(TypeError, match="cannot be passed as 'origin'"):

        class Aliased(events.Event):
            source: str = Field(alias="origin")  # type: ignore[event-field]

    class SetByTheEvent(events.Event):  # never passed, so no conflict
        origin: str = Field(default="here", init=False)

    assert SetByTheEvent().origin == "here"
