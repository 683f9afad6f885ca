"""Background handlers with the default in-process engine: no broker needed."""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import datetime as dt
import functools
import json
import logging
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, Secret, SecretStr

from canvas_core import background, events
from canvas_core.background import Job
from canvas_core.background._serialization import has_secrets


class Order(events.Event):
    number: int
    note: str = ""


class WithCallback(events.Event):
    callback: Callable[[], None]


class Anything(events.Event):
    value: object


seen: list[events.Event] = []
"""What background handlers received, as they received it."""


def remember(event: events.Event) -> None:
    seen.append(event.model_copy())
    if isinstance(event, Order):
        event.note = "changed in the background"


async def remember_async(event: Order) -> None:
    await asyncio.sleep(0)
    seen.append(event)


def explode(event: Order) -> None:
    raise RuntimeError(f"cannot handle order {event.number}")


@pytest.fixture(autouse=True)
def _forget() -> None:
    seen.clear()


def test_the_handler_gets_a_copy_made_after_the_other_handlers_ran() -> None:
    events.handle_event(Order, background=True)(remember)

    @events.handle_event(Order)  # registered later, yet runs first
    def annotate(event: Order) -> None:
        event.note = "annotated"

    order = events.emit_event(Order, number=1)

    [copy] = seen
    assert isinstance(copy, Order)
    assert copy.note == "annotated"  # the foreground handler's change travelled
    assert order.note == "annotated"  # the background handler's change did not come back


def test_async_background_handlers_run() -> None:
    events.handle_event(Order, background=True)(remember_async)
    events.emit_event(Order, number=2)
    assert [event.number for event in seen] == [2]  # type: ignore[attr-defined]


async def set_when_handled(event: Order) -> None:
    await asyncio.sleep(0)
    seen.append(event)
    handled[-1].set()


handled: list[asyncio.Event] = []  # one per run of the test, created inside its event loop


def test_async_background_handlers_run_as_tasks_of_a_running_loop() -> None:
    """From async code the emitter does not wait for them either."""
    events.handle_event(Order, background=True)(set_when_handled)

    async def emit_then_wait() -> None:
        handled.append(asyncio.Event())
        await events.aemit_event(Order, number=6)
        assert seen == []  # enqueued, not awaited
        await asyncio.wait_for(handled[-1].wait(), timeout=10)

    asyncio.run(emit_then_wait())
    assert [event.number for event in seen] == [6]  # type: ignore[attr-defined]


def test_background_handlers_are_listed_as_registered() -> None:
    events.handle_event(Order, background=True)(remember)
    assert events.Registration(Order, None, remember) in events.registrations()
    assert events.handlers_for(Order) == (remember,)  # the function, not what the plan calls


def test_a_handler_cannot_be_both_foreground_and_background_for_one_registration() -> None:
    events.handle_event(Order, background=True)(remember)
    with pytest.raises(ValueError, match="already registered for Order with background=True"):
        events.handle_event(Order)(remember)
    events.handle_event(Order, background=True)(remember)  # the same registration again: fine


def test_failures_are_logged_and_reported_as_handler_failed(caplog: pytest.LogCaptureFixture) -> None:
    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)
    events.handle_event(Order, background=True)(explode)

    with caplog.at_level(logging.ERROR):
        order = events.emit_event(Order, number=3)

    [failure] = reported
    assert failure.handler is explode
    assert failure.event is not order
    assert failure.event == order
    assert str(failure.exception) == "cannot handle order 3"
    assert "Handler tests.background.test_in_process.explode failed while handling Order" in caplog.text


def test_handlers_a_worker_cannot_import_are_rejected_at_registration() -> None:
    def local_handler(event: Order) -> None:
        pass

    with pytest.raises(TypeError, match="module-level classes and functions"):
        events.handle_event(Order, background=True)(local_handler)
    with pytest.raises(TypeError, match="module-level classes and functions"):
        events.handle_event(Order, background=True)(lambda event: None)


def test_events_that_cannot_travel_are_rejected_at_registration() -> None:
    with pytest.raises(TypeError, match=r"WithCallback cannot .* field .callback. has a type JSON cannot carry"):
        events.handle_event(WithCallback, background=True)(remember)
    with pytest.raises(TypeError, match="HandlerFailed cannot go to a background handler"):
        events.handle_event(events.HandlerFailed, background=True)(remember)


def test_values_that_cannot_travel_are_reported_at_emission() -> None:
    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)
    events.handle_event(Anything, background=True)(remember)

    events.emit_event(Anything, value=object())
    events.emit_event(Anything, value={"fine": [1, 2]})

    [failure] = reported
    assert failure.handler is remember
    assert isinstance(failure.exception, background.EventNotSerializable)
    assert "a value of type object cannot be copied to a background handler" in str(failure.exception)
    assert [event.value for event in seen] == [{"fine": [1, 2]}]  # type: ignore[attr-defined]


def test_aemit_event_enqueues_background_handlers_too() -> None:
    events.handle_event(Order, background=True)(remember)
    order = asyncio.run(events.aemit_event(Order, number=4))
    assert seen == [order]
    assert order.note == ""


class Recorded(list[Job]):
    """An engine that keeps jobs instead of running them."""

    def enqueue(self, job: Job) -> None:
        self.append(job)


def test_enqueueing_does_not_run_the_handler() -> None:
    engine = Recorded()
    background.use_engine(engine)
    events.handle_event(Order, background=True)(remember)

    events.emit_event(Order, number=5)

    assert seen == []
    [job] = engine
    assert job.handler == "tests.background.test_in_process:remember"
    background.run_job(job)
    assert seen == [Order(number=5)]


class Shipment(events.Event):
    when: dt.datetime
    parcels: list[int]
    labels: dict[str, str]
    weight: float | None = None
    express: bool = False


@given(
    st.builds(
        Shipment,
        when=st.datetimes(timezones=st.just(dt.UTC)),
        parcels=st.lists(st.integers()),
        labels=st.dictionaries(st.text(), st.text()),
        weight=st.none() | st.floats(allow_nan=False, allow_infinity=False),
        express=st.booleans(),
    )
)
def test_events_survive_the_trip_through_json_unchanged(shipment: Shipment) -> None:
    events.handle_event(Shipment, background=True)(remember)
    job = Job.for_event("tests.background.test_in_process:remember", Shipment, shipment)
    payload: dict[str, Any] = json.loads(json.dumps(job.to_payload()))

    handler, copy = background.rebuild_job(Job.from_payload(payload))

    assert handler is remember
    assert copy == shipment


class Login(events.Event):
    user: str
    password: SecretStr
    otp: str = Field(repr=False)


def test_secrets_reach_the_background_handler_with_their_values() -> None:
    events.handle_event(Login, background=True)(remember)

    events.emit_event(Login, user="ada", password=SecretStr("hunter2"), otp="123456")

    [copy] = seen
    assert isinstance(copy, Login)
    assert copy.password.get_secret_value() == "hunter2"  # not "**********"
    assert copy.otp == "123456"


class Mailer:
    def send(self, event: Order) -> None:
        pass


def test_a_bound_method_is_refused_at_registration() -> None:
    with pytest.raises(TypeError, match=re.escape("the bound method Mailer.send cannot be a background handler")):
        events.handle_event(Order, background=True)(Mailer().send)


def renamed(event: Order) -> None:
    pass


def impostor(event: Order) -> None:
    pass


def test_a_function_its_module_name_does_not_give_back_is_refused() -> None:
    impostor.__qualname__ = "renamed"  # the name a worker would go by names another function
    try:
        with pytest.raises(TypeError, match=re.escape("is not what tests.background.test_in_process.renamed names")):
            events.handle_event(Order, background=True)(impostor)
    finally:
        impostor.__qualname__ = "impostor"


def test_callable_objects_and_partials_are_refused() -> None:
    with pytest.raises(TypeError, match="background handlers are module-level functions"):
        events.handle_event(Order, background=True)(functools.partial(remember))


def test_a_job_naming_an_unregistered_handler_is_rejected_without_importing_it() -> None:
    job = Job(
        handler="tests.background.canary:boom",
        registered_for="tests.background.test_in_process:Order",
        event_type="tests.background.test_in_process:Order",
        fields={"number": 1},
    )
    with pytest.raises(background.JobRejected, match=re.escape("no background handler tests.background.canary:boom")):
        background.rebuild_job(job)
    assert "tests.background.canary" not in sys.modules


def test_a_job_for_an_event_class_the_handler_was_not_registered_for_is_rejected() -> None:
    events.handle_event(Order, background=True)(remember)
    job = Job.for_event("tests.background.test_in_process:remember", Order, Order(number=1))
    forged = dataclasses.replace(job, event_type="canvas_core.events._reporting:HandlerFailed")
    expected = "is not tests.background.test_in_process:Order nor one of"
    with pytest.raises(background.JobRejected, match=re.escape(expected)):
        background.rebuild_job(forged)


def test_a_job_that_does_not_fit_is_logged_without_its_values(caplog: pytest.LogCaptureFixture) -> None:
    events.handle_event(Order, background=True)(remember)
    job = Job.for_event("tests.background.test_in_process:remember", Order, Order(number=1))
    forged = dataclasses.replace(job, fields={"number": "not-a-number-4711"})

    with caplog.at_level(logging.ERROR, logger="canvas_core.background"):
        background.run_job(forged)

    assert seen == []
    assert "number: int_parsing" in caplog.text
    assert "4711" not in caplog.text  # pydantic's input_value stays out


def test_the_core_does_not_import_the_background_package() -> None:
    """Not even lazily: the background package plugs itself into the registry."""
    core = Path(events.__file__).parent
    imported = {
        (path.name, node.module if isinstance(node, ast.ImportFrom) else alias.name)
        for path in core.glob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert not [(file, name) for file, name in imported if name and name.startswith("canvas_core.background")]


class Nested(BaseModel):
    key: SecretStr


class WithSecretInt(events.Event):
    code: Secret[int]


class WithNestedSecret(events.Event):
    keys: list[Nested]


class WithHiddenField(events.Event):
    note: str = Field(repr=False)


@pytest.mark.parametrize(
    ("event_type", "secret"),
    [(Order, False), (Shipment, False), (Login, True), (WithSecretInt, True), (WithNestedSecret, True),
     (WithHiddenField, True)],
)  # fmt: skip
def test_events_with_secrets_are_recognised(event_type: type[events.Event], secret: bool) -> None:
    """Those never travel in a broker message: with Django they go through the outbox even outside a transaction."""
    assert has_secrets(event_type) is secret


contexts: list[dict[str, object]] = []


def remember_context(event: Order) -> None:
    contexts.append(events.current_context().as_dict())


def test_the_emission_context_travels_with_the_job() -> None:
    engine = Recorded()
    background.use_engine(engine)
    events.handle_event(Order, background=True)(remember_context)
    with events.context(actor="auth.user:9", reason="refund", extra={"tenant": "t1"}):
        events.emit_event(Order, number=1)
    [job] = engine
    travelled = Job.from_payload(json.loads(json.dumps(job.to_payload())))  # as the outbox row or message holds it
    background.run_job(travelled)  # outside the emitter's block, as a worker runs it
    assert contexts == [{"actor": "auth.user:9", "reason": "refund", "extra": {"tenant": "t1"}}]
    assert not events.current_context()


def test_a_job_without_a_context_or_with_a_forged_one_runs_in_an_empty_or_cleaned_one() -> None:
    payload = Job.for_event("tests.background.test_in_process:remember_context", Order, Order(number=2)).to_payload()
    del payload["context"]  # written before the context travelled
    assert Job.from_payload(payload).context == {}
    payload["context"] = {"actor": ["not", "a", "string"], "reason": "ok", "extra": {"k": 1}}
    assert Job.from_payload(payload).context == {"reason": "ok"}
