"""The registry's index and plan cache: what a change drops, what the cache keeps, and hostile origins."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import warnings
import weakref
from typing import Any

import pytest

from canvas_core import events
from canvas_core.events import _registry
from canvas_core.events._dispatch import registry
from canvas_core.events._registry import RegistrationChange


class Base(events.Event):
    pass


class Child(Base):
    pass


class Sibling(Base):
    pass


class Other(events.Event):
    pass


class Request:
    """Stands for a per-call origin: a new object on every emission."""


def noop(event: events.Event) -> None:
    pass


# -- invalidation --------------------------------------------------------------------------------


class Site:
    """A long-lived origin (a class: its plans are cached)."""


def test_a_registration_drops_only_the_plans_of_the_types_it_reaches() -> None:
    for event_type in (Base, Child, Sibling, Other):
        events.emit_event(event_type, origin=Site)
    events.handle_event(Child)(noop)
    assert (Child, Site) not in registry.plans
    assert {(Base, Site), (Sibling, Site), (Other, Site)} <= set(registry.plans)

    events.handle_event(Base)(noop)  # reaches Base and both subclasses
    assert (Other, Site) in registry.plans
    assert not {(Base, Site), (Sibling, Site)} & set(registry.plans)
    assert Base not in registry.free
    assert Other in registry.free


def test_a_removal_drops_only_the_plans_it_reaches() -> None:
    events.handle_event(Child)(noop)
    events.emit_event(Child)
    events.emit_event(Other)
    events.remove_handler(noop)
    assert (Other, None) in registry.plans
    assert (Child, None) not in registry.plans
    assert events.handlers_for(Child) == ()


def test_a_parametrization_drops_the_plans_of_the_parametrizations_it_matches_covariantly() -> None:
    class Place:
        pass

    class SubPlace(Place):
        pass

    events.emit_event(events.PostRecordUpdate[SubPlace], record=SubPlace(), diff={})
    events.emit_event(events.PostRecordUpdate[int], record=1, diff={})
    events.handle_event(events.RecordEvent[Place])(noop)
    assert (events.PostRecordUpdate[SubPlace], None) not in registry.plans
    assert (events.PostRecordUpdate[int], None) in registry.plans
    assert events.handlers_for(events.PostRecordUpdate[SubPlace]) == (noop,)


def test_a_full_cache_evicts_gradually() -> None:
    events.handle_event(Other, origin=Site)(noop)  # so that each class origin may need a plan of its own
    for index in range(_registry._MAX_PLANS + 10):
        events.emit_event(Other, origin=type(f"Tenant{index}", (), {}))
    assert _registry._MAX_PLANS * 3 // 4 <= len(registry.plans) <= _registry._MAX_PLANS
    for _ in range(_registry._ADMIT_WHEN_FULL):  # an origin in use still gets in, soon
        events.emit_event(Other, origin=Site)
    assert (Other, Site) in registry.plans
    assert _registry._MAX_PLANS * 3 // 4 <= len(registry.plans) <= _registry._MAX_PLANS


@pytest.mark.parametrize("emit", ["sync", "async"])
def test_origins_nobody_registered_for_are_neither_cached_nor_kept(emit: str) -> None:
    everyone: list[object] = []
    scoped: list[object] = []
    events.handle_event(Base)(everyone.append)
    events.handle_event(Base, origin="tenant-7")(scoped.append)
    events.handle_event(Base, origin=Site)(scoped.append)
    events.emit_event(Child, origin=None)  # the usual origin stays cached
    cached = set(registry.plans)
    assert (Child, None) in cached

    def emit_from(origin: object) -> None:
        if emit == "sync":
            events.emit_event(Child, origin=origin)
        else:
            asyncio.run(events.aemit_event(Child, origin=origin))

    origins: list[object] = [f"tenant-{index}" for index in range(100)] + [("tenant", 1), 3.5, Request()]
    for origin in origins:
        emit_from(origin)
    assert len(everyone) == len(origins) + 1
    assert len(scoped) == 1  # "tenant-7" only
    assert set(registry.plans) == cached | {(Child, "tenant-7")}

    class SubSite(Site):
        pass

    emit_from(SubSite)  # a class is matched along its MRO, never by the shortcut
    assert len(scoped) == 2
    emit_from(EqualsSite())  # not a class, but equal to one registered: reaches it by equality
    assert len(scoped) == 3


class EqualsSite:
    def __hash__(self) -> int:
        return hash(Site)

    def __eq__(self, other: object) -> bool:
        return other is Site


# -- origins the cache must not keep ----------------------------------------------------------------


@pytest.mark.parametrize("scoped", [False, True])
def test_an_origin_object_is_not_kept_after_the_emission(scoped: bool) -> None:
    seen: list[object] = []
    events.handle_event(Base)(seen.append)
    if scoped:
        events.handle_event(Base, origin="elsewhere")(noop)
    request = Request()
    alive = weakref.ref(request)
    events.emit_event(Base, origin=request)
    assert len(seen) == 1
    seen.clear()
    del request
    gc.collect()
    assert alive() is None


def test_origins_that_are_not_kept_still_reach_their_handlers() -> None:
    request = Request()
    received: list[object] = []
    events.handle_event(Base, origin=request)(received.append)
    events.emit_event(Child, origin=request)
    events.emit_event(Child, origin=Request())
    assert len(received) == 1


def test_an_unhashable_origin_equal_to_a_registered_one_reaches_it() -> None:
    received: list[object] = []
    events.handle_event(Base, origin=frozenset({1}))(received.append)
    events.emit_event(Child, origin={1})  # a set equals the frozenset with the same items
    events.emit_event(Child, origin=[1])
    assert len(received) == 1


# -- hostile origins ------------------------------------------------------------------------------------


class BrokenEq:
    """An origin that raises on every comparison."""

    __hash__ = object.__hash__

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no comparing me")


class CollidingBrokenEq(BrokenEq):
    """And hashes like ``"x"``, so that a dict lookup of ``"x"`` compares with it."""

    def __hash__(self) -> int:
        return hash("x")


def test_an_origin_whose_eq_raises_does_not_break_removal_for_others() -> None:
    def other(event: Base) -> None: ...

    broken = BrokenEq()
    events.handle_event(Base, origin=broken)(noop)
    events.handle_event(Base, origin="x")(other)
    events.handle_event(Base, origin="y")(other)
    assert events.remove_handler(other, Base, "y") == 1
    assert events.remove_handler(other, Base, "x") == 1
    assert events.handlers_for(Base, "x") == ()
    assert events.handlers_for(Base, broken) == (noop,)  # the same object: found without comparing
    assert events.remove_handler(noop, Base, broken) == 1
    assert events.registrations() == []


def test_an_origin_whose_eq_raises_does_not_break_emissions_that_collide_with_it() -> None:
    received: list[object] = []
    broken = CollidingBrokenEq()
    events.handle_event(Base, origin=broken)(noop)
    events.handle_event(Child, origin="x")(received.append)  # Child's plan holds both origins
    events.emit_event(Child, origin="x")
    events.emit_event(Child, origin=CollidingBrokenEq())  # a different object: equal to nothing
    assert len(received) == 1
    assert events.handlers_for(Child, broken) == (noop,)
    assert events.remove_handler(received.append, Child, "x") == 1


def test_nan_is_reachable_and_removable() -> None:
    nan = float("nan")
    received: list[object] = []
    events.handle_event(Base, origin=nan)(received.append)
    events.handle_event(Base, origin=nan)(received.append)  # the same registration
    events.emit_event(Child, origin=nan)
    events.emit_event(Child, origin=float("nan"))  # another NaN equals nothing, itself included
    assert len(received) == 1
    assert len(events.registrations_for(Child, nan)) == 1
    assert events.remove_handler(received.append, Base, nan) == 1
    assert events.registrations() == []


class HashRaises:
    def __hash__(self) -> int:
        raise ValueError("not today")


def test_an_origin_whose_hash_raises_is_refused_with_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"origin must be hashable.*HashRaises given raised ValueError"):
        events.handle_event(Base, origin=HashRaises())


@pytest.mark.parametrize("emit", ["sync", "async"])
def test_emitting_from_an_origin_whose_hash_raises_treats_it_as_unhashable(emit: str) -> None:
    import asyncio

    received: list[object] = []
    events.handle_event(Base)(received.append)
    events.handle_event(Base, origin="x")(noop)
    if emit == "sync":
        events.emit_event(Child, origin=HashRaises())
    else:
        asyncio.run(events.aemit_event(Child, origin=HashRaises()))
    assert len(received) == 1


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: events.handlers_for("Base"), "handlers_for"),  # type: ignore[arg-type]
        (lambda: events.registrations_for(42), "registrations_for"),  # type: ignore[arg-type]
        (lambda: events.remove_handler(noop, "Base"), "remove_handler"),  # type: ignore[arg-type]
    ],
)
def test_queries_given_something_else_than_an_event_class_say_what_to_pass(call: Any, name: str) -> None:
    with pytest.raises(TypeError, match=rf"{name}\(\) needs an Event subclass.*pass the event class itself"):
        call()


# -- removal ---------------------------------------------------------------------------------------------


def test_remove_handler_removes_exactly_the_registration_named() -> None:
    events.handle_event(Base)(noop)
    events.handle_event(Base, origin="a")(noop)
    events.handle_event(Other, origin="a")(noop)
    assert events.remove_handler(noop, Base, "a") == 1
    assert {(r.event_type, r.origin) for r in events.registrations()} == {(Base, None), (Other, "a")}
    assert events.remove_handler(noop, Base, "a") == 0
    assert events.remove_handler(noop) == 2
    assert events.registrations() == []


def test_change_listeners_hear_which_registration_changed() -> None:
    heard: list[RegistrationChange] = []
    start, _ = registry.registrations_at()
    registry.change_listeners.append(heard.append)
    try:
        events.handle_event(Base, origin="a")(noop)
        events.handle_event(Base, origin="a")(noop)  # no change
        events.remove_handler(noop)
        registry.clear()
    finally:
        registry.change_listeners.remove(heard.append)
    assert heard == [
        RegistrationChange(events.Registration(Base, "a", noop), added=True, generation=start + 1),
        RegistrationChange(events.Registration(Base, "a", noop), added=False, generation=start + 2),
        RegistrationChange(None, added=False, generation=start + 3),
    ]
    assert registry.registrations_at() == (start + 3, [])


# -- fork ----------------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_child_forked_while_another_thread_holds_the_registry_lock_can_register() -> None:
    holding = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with registry._lock:
            holding.set()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # "multi-threaded, fork() may deadlock": the point
            pid = os.fork()
        if pid == 0:  # the child: register, emit, and report through the exit status
            code = 1
            try:
                events.handle_event(Base)(noop)
                events.emit_event(Base)
                code = 0
            finally:
                os._exit(code)
        status = _wait_or_kill(pid)
    finally:
        release.set()
        thread.join()
    assert status == 0, "the child deadlocked on the registry lock" if status is None else status


def _wait_or_kill(pid: int) -> int | None:
    """The child's exit status, or None if it is still stuck after a generous while (then killed)."""
    done = threading.Event()
    result: list[int] = []

    def wait() -> None:
        result.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
        done.set()

    waiter = threading.Thread(target=wait, daemon=True)
    waiter.start()
    if not done.wait(30):
        os.kill(pid, 9)
        waiter.join()
        return None
    return result[0]


def test_removing_several_registrations_calls_plain_listeners_once_and_change_listeners_per_registration() -> None:
    plain: list[None] = []
    heard: list[RegistrationChange] = []
    for event_type in (Base, Child, Other):
        events.handle_event(event_type)(noop)

    def listener() -> None:
        plain.append(None)

    registry.listeners.append(listener)
    registry.change_listeners.append(heard.append)
    try:
        assert events.remove_handler(noop) == 3
    finally:
        registry.listeners.remove(listener)
        registry.change_listeners.remove(heard.append)
    assert len(plain) == 1
    assert {(c.registration.event_type, c.added) for c in heard if c.registration} == {
        (Base, False),
        (Child, False),
        (Other, False),
    }
