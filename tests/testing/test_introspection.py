"""Introspection: who would receive an emission, and where each handler is defined."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from canvas_core import events


class Base(events.Event):
    pass


class Child(Base):
    pass


class Unrelated(events.Event):
    pass


class Billing:
    pass


class Invoicing(Billing):
    pass


def module_handler(event: Base) -> None: ...


def test_registrations_unpack_as_before_and_name_their_handler() -> None:
    events.handle_event(Base, origin=Billing)(module_handler)
    (registration,) = [r for r in events.registrations() if r.handler is module_handler]
    event_type, origin, handler = registration
    assert (event_type, origin, handler) == (Base, Billing, module_handler)
    assert registration.handler_name == "tests.testing.test_introspection.module_handler"
    source = registration.source
    assert source is not None
    assert source.file == __file__
    assert source.line == inspect.getsourcelines(module_handler)[1]
    assert str(source) == f"{__file__}:{source.line}"


def test_registrations_for_lists_what_an_emission_reaches() -> None:
    def anything(event: events.Event) -> None: ...
    def base_handler(event: Base) -> None: ...
    def billing_child(event: Child) -> None: ...
    def unrelated(event: Unrelated) -> None: ...

    events.handle_event(events.Event)(anything)
    events.handle_event(Base)(base_handler)
    events.handle_event(Child, origin=Billing)(billing_child)
    events.handle_event(Child)(base_handler)  # the same function, registered twice
    events.handle_event(Unrelated)(unrelated)

    reached = events.registrations_for(Child, origin=Invoicing)
    assert {(r.event_type, r.origin, r.handler) for r in reached} == {
        (events.Event, None, anything),
        (Base, None, base_handler),
        (Child, None, base_handler),
        (Child, Billing, billing_child),
    }
    assert set(events.handlers_for(Child, Invoicing)) == {anything, base_handler, billing_child}
    assert {r.handler for r in events.registrations_for(Child)} == {anything, base_handler}
    assert all(r.receives(Child, Invoicing) for r in reached)
    billing = next(r for r in reached if r.handler is billing_child)
    assert not billing.receives(Child, origin=None)
    assert not billing.receives(Unrelated, origin=Billing)


def test_registrations_for_generic_events_match_covariantly() -> None:
    class Setting:
        pass

    class SiteSetting(Setting):
        pass

    def on_setting(event: events.PostRecordUpdate[Setting]) -> None: ...

    events.handle_event(events.PostRecordUpdate[Setting], origin=Setting)(on_setting)
    assert [r.handler for r in events.registrations_for(events.PostRecordUpdate[SiteSetting], SiteSetting)] == [
        on_setting
    ]
    assert events.registrations_for(events.PostRecordCreate[SiteSetting], SiteSetting) == []


def _decorate(fn: Callable[[Any], None]) -> Callable[[Any], None]:
    @functools.wraps(fn)
    def wrapper(event: Any) -> None:
        fn(event)

    return wrapper


@_decorate
def decorated(event: Base) -> None: ...


class Handlers:
    def method(self, event: Base) -> None: ...

    def __call__(self, event: Base) -> None: ...


def _line(fn: Any) -> int:
    return inspect.getsourcelines(fn)[1]


def test_source_sees_through_wrappers_partials_methods_and_callable_instances() -> None:
    def two_args(event: Base, extra: int) -> None: ...

    instance = Handlers()
    assert events.handler_source(decorated) == events.SourceLocation(__file__, _line(decorated.__wrapped__))  # type: ignore[attr-defined]
    assert events.handler_source(functools.partial(two_args, extra=1)) == (__file__, _line(two_args))
    assert events.handler_source(instance.method) == (__file__, _line(Handlers.method))
    assert events.handler_source(instance) == (__file__, _line(Handlers.__call__))
    assert events.handler_source(print) is None


def test_partial_handlers_are_named_after_their_function() -> None:
    def two_args(event: Base, extra: int) -> None: ...

    events.handle_event(Base)(functools.partial(two_args, extra=1))
    (registration,) = events.registrations_for(Base)
    assert registration.handler_name.startswith("functools.partial(tests.testing.test_introspection.")
    assert registration.handler_name.endswith("two_args)")
