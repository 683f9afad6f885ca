"""Property tests: random handler sets, failures, origins and nested emissions against a model of the rules."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.events._dispatch import registry


class Base(events.Event):
    n: int = 0


class Child(Base):
    pass


class Leaf(events.Event):
    pass


class Place:
    pass


class SubPlace(Place):
    pass


ORIGINS: list[object] = [None, "a", "b", Place, SubPlace, ("tenant", 1)]
HANDLED_TYPES: list[type[events.Event]] = [events.Event, Base, Child, Leaf]
EXCEPTIONS: list[type[Exception]] = [ValueError, KeyError, RuntimeError, ZeroDivisionError]


@dataclass(frozen=True)
class Spec:
    handled: type[events.Event]
    origin: object
    raises: type[Exception] | None
    nests: object  # origin of a nested Leaf emission, or _NO_NEST


_NO_NEST = object()


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    handled = draw(st.sampled_from(HANDLED_TYPES))
    origin = draw(st.sampled_from(ORIGINS))
    raises = draw(st.none() | st.sampled_from(EXCEPTIONS))
    # Only handlers of Base/Child emit (a nested Leaf): they never receive Leaf, so nesting stays finite.
    nests = draw(st.sampled_from([_NO_NEST, *ORIGINS])) if handled in (Base, Child) else _NO_NEST
    return Spec(handled, origin, raises, nests)


def origin_matches(registered: object, emitted: object) -> bool:
    if registered is None:
        return True
    if isinstance(registered, type) and isinstance(emitted, type):
        return issubclass(emitted, registered)
    return registered == emitted


@dataclass
class Outcome:
    calls: Counter[tuple[int, str]]
    failures: int
    reports: Counter[tuple[int, str]]


def simulate(spec_list: list[Spec], event_type: type[events.Event], origin: object, outcome: Outcome) -> None:
    for index, spec in enumerate(spec_list):
        if not (issubclass(event_type, spec.handled) and origin_matches(spec.origin, origin)):
            continue
        outcome.calls[index, event_type.__name__] += 1
        if spec.nests is not _NO_NEST:
            simulate(spec_list, Leaf, spec.nests, outcome)
        if spec.raises is not None:
            outcome.failures += 1
            if event_type is not events.HandlerFailed:
                outcome.reports[index, spec.raises.__name__] += 1
                simulate(spec_list, events.HandlerFailed, event_type, outcome)


def make_handler(index: int, spec: Spec, observed: Outcome) -> object:
    def handler(event: events.Event) -> None:
        observed.calls[index, type(event).__name__] += 1
        if spec.nests is not _NO_NEST:
            events.emit_event(Leaf, origin=spec.nests)
        if spec.raises is not None:
            raise spec.raises(f"handler {index}")

    handler.__qualname__ = f"handler_{index}"
    handler.index = index  # type: ignore[attr-defined]
    return handler


class CountErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.count += 1


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spec_list=st.lists(specs(), max_size=12),
    emitted_type=st.sampled_from([Base, Child, Leaf]),
    emitted_origin=st.sampled_from(ORIGINS),
)
def test_dispatch_matches_the_model(
    spec_list: list[Spec], emitted_type: type[events.Event], emitted_origin: object
) -> None:
    registry.clear()
    observed = Outcome(Counter(), 0, Counter())
    handlers = [make_handler(index, spec, observed) for index, spec in enumerate(spec_list)]
    for handler, spec in zip(handlers, spec_list, strict=True):
        events.handle_event(spec.handled, origin=spec.origin)(handler)  # type: ignore[arg-type]

    def reporter(event: events.HandlerFailed) -> None:
        observed.reports[event.handler.index, type(event.exception).__name__] += 1  # type: ignore[attr-defined]

    events.handle_event(events.HandlerFailed)(reporter)

    errors = CountErrors()
    logger = logging.getLogger("canvas_core.events")
    logger.addHandler(errors)
    logger.propagate = False  # count here; keep pytest's output quiet
    try:
        sent = events.emit_event(emitted_type, origin=emitted_origin)
    finally:
        logger.removeHandler(errors)
        logger.propagate = True

    expected = Outcome(Counter(), 0, Counter())
    simulate(spec_list, emitted_type, emitted_origin, expected)
    assert type(sent) is emitted_type
    assert observed.calls == expected.calls  # every matching handler exactly once, no other
    assert errors.count == expected.failures  # every failure logged once
    assert observed.reports == expected.reports  # and reported once (failing reporters are not)
    registry.clear()


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(st.text(), min_size=1, max_size=5), fail_at=st.integers(min_value=0, max_value=5))
def test_emitter_gets_back_what_handlers_left(messages: list[str], fail_at: int) -> None:
    registry.clear()

    class Note(events.Event):
        text: str

    def appender(suffix: str, fail: bool) -> object:
        def handler(event: Note) -> None:
            event.text += suffix
            if fail:
                raise RuntimeError(suffix)

        return handler

    for position, suffix in enumerate(messages):
        events.handle_event(Note)(appender(suffix, position == fail_at))  # type: ignore[arg-type]
    logging.getLogger("canvas_core.events").disabled = True
    try:
        sent = events.emit_event(Note, text="")
    finally:
        logging.getLogger("canvas_core.events").disabled = False
    assert sorted(sent.text) == sorted("".join(messages))
    registry.clear()


# -- registrations and removals interleaved with emissions, against a naive matcher ---------------

T = TypeVar("T")


class GrandChild(Child):
    pass


class Wrapped(events.Event, Generic[T]):
    item: T


class SubWrapped(Wrapped[T], Generic[T]):
    pass


class EqualsA:
    """Unhashable, and equal to ``"a"``: reaches handlers registered with origin ``"a"``."""

    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return other == "a"


class EqualsPlace:
    """Hashable, not a class, and equal to ``Place``: reaches handlers registered with that class, by equality."""

    def __hash__(self) -> int:
        return hash(Place)

    def __eq__(self, other: object) -> bool:
        return other is Place


class SubSubPlace(SubPlace):
    """A class origin no registration names: matched along its MRO."""


NAN = float("nan")
REGISTERED_ORIGINS: list[object] = [None, "a", "b", 1, 1.0, ("t", 1), Place, SubPlace, NAN, frozenset({1})]
# with origins nobody registers: fresh objects and strings, classes, equal to a class, unhashable
EMITTED_ORIGINS: list[object] = [
    *REGISTERED_ORIGINS,
    *(float("nan"), True, [1], {1}, "EqualsA", "fresh object", "c", SubSubPlace, int, "EqualsPlace"),
]
HANDLED: list[type[events.Event]] = [
    events.Event,
    Base,
    Child,
    GrandChild,
    Leaf,
    Wrapped,
    Wrapped[Place],
    Wrapped[SubPlace],
    Wrapped[int],
    SubWrapped,
    SubWrapped[Place],
]
# (event class, fields); the generic ones are parametrized from the item while being built
EMITTED: list[tuple[type[events.Event], dict[str, object]]] = [
    (Base, {}),
    (Child, {}),
    (GrandChild, {}),
    (Leaf, {}),
    (Wrapped, {"item": Place()}),
    (Wrapped, {"item": SubPlace()}),
    (Wrapped, {"item": 3}),
    (SubWrapped, {"item": SubPlace()}),
    (Wrapped[Place], {"item": SubPlace()}),
]
HANDLER_IDS = range(6)


def emitted_origin(choice: object) -> object:
    if choice == "EqualsA":
        return EqualsA()
    if choice == "fresh object":
        return object()
    if choice == "EqualsPlace":
        return EqualsPlace()
    return choice


def same_origin(registered: object, given: object) -> bool:
    """How registrations are told apart: as dict keys are (the same object, or equal)."""
    return registered is given or bool(registered == given)


def naive_origin_matches(registered: object, emitted: object) -> bool:
    if registered is None or registered is emitted:
        return True
    if isinstance(registered, type) and isinstance(emitted, type):
        return issubclass(emitted, registered)
    return bool(registered == emitted)


def naive_type_matches(emitted: type[events.Event], handled: type[events.Event]) -> bool:
    if issubclass(emitted, handled):
        return True
    generic = handled.__pydantic_generic_metadata__["origin"]
    if generic is None or not issubclass(emitted, generic):
        return False
    wanted = handled.model_fields["item"].annotation
    actual = emitted.model_fields["item"].annotation
    return actual == wanted or (isinstance(actual, type) and isinstance(wanted, type) and issubclass(actual, wanted))


operations = st.one_of(
    st.tuples(
        st.just("register"),
        st.sampled_from(HANDLER_IDS),
        st.sampled_from(HANDLED),
        st.sampled_from(REGISTERED_ORIGINS),
    ),
    st.tuples(
        st.just("remove"),
        st.sampled_from(HANDLER_IDS),
        st.none() | st.sampled_from(HANDLED),
        st.sampled_from(REGISTERED_ORIGINS),
    ),
    st.tuples(
        st.just("emit"),
        st.sampled_from(range(len(EMITTED))),
        st.sampled_from(EMITTED_ORIGINS),
        st.booleans(),  # async
    ),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=st.lists(operations, max_size=40))
def test_index_matches_a_naive_scan(script: list[tuple[Any, ...]]) -> None:
    registry.clear()
    model: list[tuple[int, type[events.Event], object]] = []  # the registrations, as the naive matcher sees them
    calls: Counter[int] = Counter()

    def make(hid: int) -> Any:
        def handler(event: events.Event) -> None:
            calls[hid] += 1

        return handler

    handlers = [make(hid) for hid in HANDLER_IDS]
    for operation in script:
        if operation[0] == "register":
            _, hid, handled, origin = operation
            events.handle_event(handled, origin=origin)(handlers[hid])
            if not any(h == hid and t is handled and same_origin(o, origin) for h, t, o in model):
                model.append((hid, handled, origin))
        elif operation[0] == "remove":
            _, hid, handled, origin = operation
            gone = [
                entry
                for entry in model
                if entry[0] == hid and (handled is None or (entry[1] is handled and same_origin(entry[2], origin)))
            ]
            for entry in gone:
                model.remove(entry)
            assert events.remove_handler(handlers[hid], handled, origin) == len(gone)
        else:
            _, which, origin_choice, use_async = operation
            event_type, fields = EMITTED[which]
            origin = emitted_origin(origin_choice)
            calls.clear()
            if use_async:
                sent = asyncio.run(events.aemit_event(event_type, origin=origin, **fields))
            else:
                sent = events.emit_event(event_type, origin=origin, **fields)
            expected = {
                hid
                for hid, handled, registered in model
                if naive_type_matches(type(sent), handled) and naive_origin_matches(registered, origin)
            }
            assert calls == Counter(dict.fromkeys(expected, 1))  # every matching handler exactly once
            assert set(events.handlers_for(type(sent), origin)) == {handlers[hid] for hid in expected}
            assert len(events.registrations_for(type(sent), origin)) == sum(
                1
                for _, handled, registered in model
                if naive_type_matches(type(sent), handled) and naive_origin_matches(registered, origin)
            )
        assert len(events.registrations()) == len(model)
    registry.clear()
