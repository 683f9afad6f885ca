"""emit_event(Generic, ...) infers type arguments the way type checkers do.

The class is parametrized from the fields whose annotations mention the
parameter, directly or inside built-in collections and unions, and only
within the parameter's bound or constraints; otherwise the unparametrized
class validates the fields, exactly as ``Generic(**fields)`` would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Generic, TypeVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.events import EventValidationError

IntBound = TypeVar("IntBound", bound=int)
IntOrStr = TypeVar("IntOrStr", int, str)
Item = TypeVar("Item")
Key = TypeVar("Key")


class Bounded(events.Event, Generic[IntBound]):
    item: IntBound


class Constrained(events.Event, Generic[IntOrStr]):
    item: IntOrStr


class Listed(events.Event, Generic[Item]):
    items: list[Item]


class Optional(events.Event, Generic[Item]):
    item: Item | None


class Nested(events.Event, Generic[Key, Item]):
    by_key: dict[Key, list[Item]]
    pair: tuple[Item, int] | None = None


class Streamed(events.Event, Generic[Item]):
    first: Item | None = None
    rest: Any = None


class Unmentioned(events.Event, Generic[Item]):
    count: int


def _validation_errors(call: Any) -> list[Any]:
    with pytest.raises(EventValidationError) as raised:
        call()
    return [(error["type"], error["loc"]) for error in raised.value.errors()]


def test_a_value_outside_the_bound_is_rejected_as_the_constructor_rejects_it() -> None:
    emitted = _validation_errors(lambda: events.emit_event(Bounded, item="x"))  # type: ignore[type-var]
    constructed = _validation_errors(lambda: Bounded(item="x"))  # type: ignore[type-var]
    assert emitted == constructed == [("int_parsing", ("item",))]


def test_a_subclass_of_the_bound_is_the_argument() -> None:
    assert type(events.emit_event(Bounded, item=True)) is Bounded[bool]
    assert type(events.emit_event(Bounded, item=3)) is Bounded[int]


def test_a_constrained_parameter_takes_the_constraint_not_the_subclass() -> None:
    assert type(events.emit_event(Constrained, item=True)) is Constrained[int]
    assert type(events.emit_event(Constrained, item="a")) is Constrained[str]
    emitted = _validation_errors(lambda: events.emit_event(Constrained, item=1.5))  # type: ignore[type-var]
    assert emitted == _validation_errors(lambda: Constrained(item=1.5))  # type: ignore[type-var]


def test_inferred_through_lists_optionals_dicts_and_tuples() -> None:
    assert type(events.emit_event(Listed, items=[1, 2])) is Listed[int]
    assert type(events.emit_event(Listed, items=[1, True])) is Listed[int]
    assert type(events.emit_event(Listed, items=[1, "a"])) is Listed[object]
    assert type(events.emit_event(Optional, item=3)) is Optional[int]
    nested = events.emit_event(Nested, by_key={"a": [1.5]}, pair=(2.5, 1))
    assert type(nested) is Nested[str, float]


def test_no_evidence_parametrizes_with_what_the_unparametrized_class_validates_against() -> None:
    assert type(events.emit_event(Listed, items=[])) is Listed[Any]
    assert type(events.emit_event(Optional, item=None)) is Optional[Any]
    assert events.emit_event(Optional, item=None).item is None
    assert type(events.emit_event(Streamed)) is Streamed[Any]  # left to its default
    # Lax validation within the bound: the same coercion as the constructor.
    digits: Any = "1"  # mypy reports a str here, as the next test shows; pydantic coerces it
    assert events.emit_event(Bounded, item=digits).item == Bounded(item=digits).item == 1
    assert type(events.emit_event(Bounded, item=digits)) is Bounded[int]


def test_a_missing_required_field_is_reported_as_the_constructor_reports_it() -> None:
    emitted = _validation_errors(lambda: events.emit_event(Listed))  # type: ignore[call-arg]
    assert emitted == _validation_errors(lambda: Listed()) == [("missing", ("items",))]  # type: ignore[call-arg]


def test_an_iterator_is_not_used_up_by_inference() -> None:
    def numbers() -> Iterator[int]:
        yield from (1, 2)

    stream = numbers()
    events.emit_event(Streamed, first=1, rest=stream)
    assert list(stream) == [1, 2]


def test_a_parameter_no_field_mentions_cannot_be_inferred() -> None:
    with pytest.raises(TypeError, match=r"cannot infer the type argument ~Item of Unmentioned"):
        events.emit_event(Unmentioned, count=1)


@given(st.lists(st.one_of(st.integers(), st.booleans(), st.floats(allow_nan=False), st.text()), min_size=1))
def test_the_argument_is_the_closest_common_base_of_the_items(items: list[object]) -> None:
    event = events.emit_event(Listed, items=items)
    classes = {type(item) for item in items}
    (argument,) = type(event).__pydantic_generic_metadata__["args"]
    assert all(issubclass(cls, argument) for cls in classes)
    # No narrower class holds them all.
    assert not any(
        base is not argument and issubclass(base, argument) and all(issubclass(cls, base) for cls in classes)
        for base in (bool, int, float, str)
    )
    assert event.items == items
