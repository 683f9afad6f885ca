"""Property test: failure isolation holds whatever the origin and whatever shape the handler has.

Origins here break every protocol a log line or a cache might touch (repr,
attribute access, hashing, equality); handlers come as functions, callable
objects, partials, bound methods, ``async def`` functions, plain callables
that return coroutines and generator functions (refused at registration),
some raising exceptions whose own ``__str__`` raises. The emitter must get its
event back, every matching runnable handler must run once, and every failure
must be logged and reported once.
"""

from __future__ import annotations

import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.events._dispatch import registry


class Ping(events.Event):
    pass


class Boom(Exception):
    pass


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str for you")


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("repr")


class BadAttributes:
    def __getattribute__(self, name: str) -> Any:
        if name in ("__class__", "__hash__", "__eq__", "__ne__"):
            return object.__getattribute__(self, name)
        raise RuntimeError(f"no attribute {name}")


class HashRaisesValueError:
    def __hash__(self) -> int:
        raise ValueError("hash")


class BadEquality:
    def __eq__(self, other: object) -> bool:
        raise RuntimeError("eq")

    __hash__ = object.__hash__


class BadReprStr(str):
    def __repr__(self) -> str:
        raise RuntimeError("repr")


# Origins a handler can be registered with (hashable) and ones only an emitter can pass.
REGISTRABLE: list[object] = [None, "a", BadRepr(), BadAttributes(), BadReprStr("b"), BadEquality()]
EMITTED: list[object] = [*REGISTRABLE, HashRaisesValueError(), [1, 2], {"k": "v"}]

SHAPES = ["function", "callable object", "partial", "bound method", "async def", "returns coroutine", "generator"]
RAISES: list[type[Exception] | None] = [None, Boom, UnprintableError]


@dataclass(frozen=True)
class Spec:
    origin_index: int  # into REGISTRABLE (hypothesis must never repr a hostile origin itself)
    shape: str
    raises: type[Exception] | None

    @property
    def origin(self) -> object:
        return REGISTRABLE[self.origin_index]


def _matches(registered: object, emitted: object) -> bool:
    if registered is None:
        return True
    if registered is emitted:
        return True
    try:
        return bool(registered == emitted)
    except Exception:
        return False


def make_handler(spec: Spec, runs: Counter[int], index: int) -> Callable[..., Any]:
    def body() -> None:
        runs[index] += 1
        if spec.raises is not None:
            raise spec.raises("boom")

    if spec.shape == "function":

        def function(event: Ping) -> None:
            body()

        return function
    if spec.shape == "callable object":

        class Handler:
            def __call__(self, event: Ping) -> None:
                body()

            def __repr__(self) -> str:
                raise RuntimeError("repr")

        return Handler()
    if spec.shape == "partial":

        def two(tag: str, event: Ping) -> None:
            body()

        return functools.partial(two, "tag")
    if spec.shape == "bound method":

        class Owner:
            def handle(self, event: Ping) -> None:
                body()

        return Owner().handle
    if spec.shape == "async def":

        async def coroutine_function(event: Ping) -> None:
            body()

        return coroutine_function
    if spec.shape == "returns coroutine":

        async def not_awaited() -> None:
            body()

        return lambda event: not_awaited()
    assert spec.shape == "generator"

    def generator(event: Ping) -> Any:
        body()
        yield

    return generator


class CountErrors(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += record.levelno >= logging.ERROR


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    spec_list=st.lists(
        st.builds(Spec, st.integers(0, len(REGISTRABLE) - 1), st.sampled_from(SHAPES), st.sampled_from(RAISES)),
        max_size=8,
    ),
    emitted_index=st.integers(0, len(EMITTED) - 1),
)
def test_failures_stay_isolated_whatever_the_origin_and_handler(spec_list: list[Spec], emitted_index: int) -> None:
    emitted = EMITTED[emitted_index]
    registry.clear()
    runs: Counter[int] = Counter()
    registered: list[tuple[int, Spec]] = []
    for index, spec in enumerate(spec_list):
        handler = make_handler(spec, runs, index)
        if spec.shape == "generator":
            with pytest.raises(TypeError, match="generator function"):
                events.handle_event(Ping, origin=spec.origin)(handler)
            continue
        events.handle_event(Ping, origin=spec.origin)(handler)
        registered.append((index, spec))
    reports: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reports.append)

    errors = CountErrors()
    logger = logging.getLogger("canvas_core.events")
    logger.addHandler(errors)
    logger.propagate = False
    try:
        sent = events.emit_event(Ping, origin=emitted)
    finally:
        logger.removeHandler(errors)
        logger.propagate = True
        registry.clear()

    matching = [(index, spec) for index, spec in registered if _matches(spec.origin, emitted)]
    expected_runs = Counter({index: 1 for index, spec in matching if spec.shape != "returns coroutine"})
    expected_failures = sum(1 for _, spec in matching if spec.shape == "returns coroutine" or spec.raises is not None)
    assert type(sent) is Ping
    assert runs == expected_runs
    assert errors.count == expected_failures
    assert len(reports) == expected_failures
    for report in reports:
        assert isinstance(report.exception, (Boom, UnprintableError, events.AsyncHandlerError))
