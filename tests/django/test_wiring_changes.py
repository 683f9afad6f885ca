"""The wiring follows each registration change by re-examining only the models it can reach."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.django import _wiring, wired_events
from canvas_core.events._dispatch import registry
from canvas_core.events._registry import RegistrationChange
from tests.testapp.models import Author, AuthorProxy, Book, Place, Restaurant

MODELS: list[Any] = [Author, AuthorProxy, Book, Place, Restaurant]
HANDLED: list[Any] = [
    events.Event,
    events.RecordEvent,
    events.PostRecordUpdate,
    events.PreRecordDelete,
    events.PostRecordCreate[Author],
    events.RecordEvent[Place],
    events.PostRecordDelete[Restaurant],
]
ORIGINS: list[object] = [None, Author, AuthorProxy, Place, Restaurant, Book, "elsewhere"]


def full_scan(model: Any) -> frozenset[Any]:
    """What the wiring used to compute on every change: every record registration checked against the model."""
    relevant = [r for r in registry.registrations() if _wiring._is_record_registration(r)]
    return _wiring._kinds_for(model, relevant)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    script=st.lists(
        st.tuples(st.booleans(), st.sampled_from(range(4)), st.sampled_from(HANDLED), st.sampled_from(ORIGINS)),
        max_size=25,
    )
)
def test_incremental_wiring_equals_a_full_scan(script: list[tuple[bool, int, Any, object]]) -> None:
    snapshot = registry.snapshot()
    handlers = [lambda event: None for _ in range(4)]
    try:
        for add, which, handled, origin in script:
            if add:
                events.handle_event(handled, origin=origin)(handlers[which])
            else:
                events.remove_handler(handlers[which], handled, origin)
            for model in apps.get_models():
                assert wired_events(model) == full_scan(model), model
    finally:
        registry.restore(snapshot)
    for model in apps.get_models():
        assert wired_events(model) == full_scan(model)


def test_a_registration_scoped_to_a_model_examines_only_its_subtree(monkeypatch: pytest.MonkeyPatch) -> None:
    examined: list[Any] = []
    kinds_for = _wiring._kinds_for

    def counting(model: Any, registrations: Any) -> Any:
        examined.append(model)
        return kinds_for(model, registrations)

    monkeypatch.setattr(_wiring, "_kinds_for", counting)

    def on_author(event: events.PostRecordUpdate[Author]) -> None: ...

    events.handle_event(events.PostRecordUpdate, origin=Author)(on_author)
    assert set(examined) == {Author, AuthorProxy}
    assert wired_events(AuthorProxy) == {events.PostRecordUpdate}

    examined.clear()

    def on_other(event: events.Event) -> None: ...

    events.handle_event(events.HandlerFailed)(on_other)  # no record event: no model looked at
    assert examined == []


def test_a_change_a_recount_already_saw_is_not_counted_again() -> None:
    """Listeners run outside the registry's lock: a removal may arrive after a recount that excludes it."""

    def on_author(event: events.PostRecordUpdate[Author]) -> None: ...

    def also_on_author(event: events.PostRecordUpdate[Author]) -> None: ...

    events.handle_event(events.PostRecordUpdate, origin=Author)(on_author)
    registry.change_listeners.remove(_wiring._on_registration_changed)  # hold this removal's notice back
    try:
        events.handle_event(events.PostRecordUpdate, origin=Author)(also_on_author)
        events.remove_handler(also_on_author)
        generation, _ = registry.registrations_at()
    finally:
        registry.change_listeners.append(_wiring._on_registration_changed)
    _wiring.rewire()  # another thread's recount: sees on_author only
    late = RegistrationChange(
        events.Registration(events.PostRecordUpdate, Author, also_on_author), added=False, generation=generation
    )
    _wiring._on_registration_changed(late)  # arrives after the recount
    assert wired_events(Author) == {events.PostRecordUpdate}  # on_author still needs it


def test_registrations_made_while_handlers_modules_are_imported_are_counted_once_afterwards(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def on_book(event: events.PostRecordCreate[Book]) -> None: ...

    monkeypatch.setattr(_wiring, "_deferred", True)  # as during install()'s autodiscover_modules("handlers")
    events.handle_event(events.PostRecordCreate, origin=Book)(on_book)
    assert wired_events(Book) == frozenset()  # not yet: no per-registration work while importing
    monkeypatch.setattr(_wiring, "_deferred", False)
    _wiring.rewire()
    assert wired_events(Book) == {events.PostRecordCreate}
