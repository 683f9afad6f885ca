"""Record lifecycle event types: true generics, cached parametrizations, covariant delivery."""

from __future__ import annotations

from typing import Any

import pytest

from canvas_core import events


class Setting:
    def __init__(self, key: str = "k") -> None:
        self.key = key


class ProxySetting(Setting):
    pass


class Invoice:
    pass


ALL_SIX: list[type[events.RecordEvent[Any]]] = [
    events.PreRecordCreate,
    events.PostRecordCreate,
    events.PreRecordUpdate,
    events.PostRecordUpdate,
    events.PreRecordDelete,
    events.PostRecordDelete,
]


def fields_for(event_type: type[events.Event], record: object) -> dict[str, Any]:
    return {"record": record, "diff": {}} if "diff" in event_type.model_fields else {"record": record}


def test_parametrized_class_is_a_cached_subclass() -> None:
    parametrized = events.PostRecordUpdate[Setting]
    assert parametrized is events.PostRecordUpdate[Setting]
    assert issubclass(parametrized, events.PostRecordUpdate)
    assert issubclass(parametrized, events.RecordEvent)


def test_parametrized_class_validates_the_record_type() -> None:
    setting = Setting()
    assert events.PostRecordUpdate[Setting](record=setting, diff={}).record is setting
    with pytest.raises(TypeError, match="record"):
        events.PostRecordUpdate[Setting](record=Invoice(), diff={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="diff"):
        events.PostRecordUpdate[Setting](record=setting, diff={"a": 1})  # type: ignore[dict-item]


def test_diff_maps_field_names_to_old_and_new() -> None:
    event = events.PostRecordUpdate[Setting](record=Setting(), diff={"value": (1, 2)})
    old, new = event.diff["value"]
    assert (old, new) == (1, 2)


@pytest.mark.parametrize("event_type", ALL_SIX)
def test_emitting_unparametrized_parametrizes_from_the_record(event_type: type[events.RecordEvent[Any]]) -> None:
    sent = events.emit_event(event_type, **fields_for(event_type, Setting()))
    assert type(sent) is event_type[Setting]  # type: ignore[index]


def test_unparametrized_emit_with_missing_record_reports_it() -> None:
    with pytest.raises(TypeError, match="record: required field missing"):
        events.emit_event(events.PostRecordUpdate, diff={})  # type: ignore[call-arg]


def test_all_forms_of_handler_receive_the_model_event() -> None:
    received: dict[str, list[events.Event]] = {"plain": [], "origin": [], "param": [], "other": [], "base": []}
    events.handle_event(events.PostRecordUpdate)(received["plain"].append)
    events.handle_event(events.PostRecordUpdate, origin=Setting)(received["origin"].append)
    events.handle_event(events.PostRecordUpdate[Setting])(received["param"].append)
    events.handle_event(events.PostRecordUpdate[Invoice])(received["other"].append)
    events.handle_event(events.RecordEvent)(received["base"].append)

    setting = Setting()
    by_emitter = [
        events.emit_event(events.PostRecordUpdate[Setting], origin=Setting, record=setting, diff={}),
        events.emit_event(events.PostRecordUpdate, origin=Setting, record=setting, diff={}),
    ]
    assert received["plain"] == by_emitter
    assert received["origin"] == by_emitter
    assert received["param"] == by_emitter
    assert received["base"] == by_emitter
    assert received["other"] == []


def test_parametrized_handler_hears_about_subclass_records() -> None:
    received: list[events.Event] = []
    events.handle_event(events.PostRecordUpdate[Setting])(received.append)
    scoped: list[events.Event] = []
    events.handle_event(events.PostRecordUpdate, origin=Setting)(scoped.append)
    proxy_only: list[events.Event] = []
    events.handle_event(events.PostRecordUpdate[ProxySetting])(proxy_only.append)

    proxy_event = events.emit_event(
        events.PostRecordUpdate[ProxySetting], origin=ProxySetting, record=ProxySetting(), diff={}
    )
    base_event = events.emit_event(events.PostRecordUpdate[Setting], origin=Setting, record=Setting(), diff={})
    assert received == [proxy_event, base_event]
    assert scoped == [proxy_event, base_event]
    assert proxy_only == [proxy_event]


def test_parametrized_base_matches_the_six_events() -> None:
    received: list[events.Event] = []
    events.handle_event(events.RecordEvent[Setting])(received.append)
    for event_type in ALL_SIX:
        events.emit_event(event_type, **fields_for(event_type, Setting()))
        events.emit_event(event_type, **fields_for(event_type, Invoice()))
    assert [type(event).__name__ for event in received] == [f"{t.__name__}[Setting]" for t in ALL_SIX]


def test_pre_and_post_are_distinct() -> None:
    received: list[events.Event] = []
    events.handle_event(events.PreRecordUpdate[Setting])(received.append)
    events.emit_event(events.PostRecordUpdate, record=Setting(), diff={})
    assert received == []


def test_subclass_of_a_parametrized_event() -> None:
    class SettingUpdated(events.PostRecordUpdate[Setting]):
        reason: str = ""

    received: list[events.Event] = []
    events.handle_event(events.PostRecordUpdate[Setting])(received.append)
    sent = events.emit_event(SettingUpdated, record=Setting(), diff={}, reason="admin")
    assert received == [sent]
