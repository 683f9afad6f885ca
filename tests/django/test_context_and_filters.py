"""The emission context in Django (middleware, after_commit, OTel) and field filters on update events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import canvas_core.otel
from canvas_core import events
from canvas_core.django import after_commit
from canvas_core.django.middleware import EventContextMiddleware
from tests.testapp.models import Article, Counter, Tag

pytestmark = pytest.mark.django_db


def test_after_commit_handlers_run_under_the_emitters_context(django_capture_on_commit_callbacks: Any) -> None:
    seen: list[str | None] = []

    @events.handle_event(events.PostRecordUpdate[Counter])
    @after_commit
    def notify(event: events.PostRecordUpdate[Counter]) -> None:
        seen.append(events.current_context().reason)

    counter = Counter.objects.create(name="a")
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        with events.context(reason="nightly job"):
            counter.count = 2
            counter.save()
        assert seen == []
    assert seen == ["nightly job"]


def test_otel_emission_spans_carry_the_context() -> None:
    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    canvas_core.otel.instrument(tracer_provider=provider, meter_provider=MeterProvider())
    try:
        events.handle_event(events.PostRecordCreate[Counter])(lambda event: None)
        with events.context(actor="auth.user:3", request_id="abc", extra={"tenant": "t1"}):
            Counter.objects.create(name="a")
    finally:
        canvas_core.otel.uninstrument()
    (span,) = [s for s in spans.get_finished_spans() if s.name.startswith("emit ")]
    assert span.attributes is not None
    assert span.attributes["canvas.context.actor"] == "auth.user:3"
    assert span.attributes["canvas.context.request_id"] == "abc"
    assert span.attributes["canvas.context.extra.tenant"] == "t1"


def run_middleware(request: HttpRequest) -> tuple[dict[str, Any], HttpResponse]:
    seen: dict[str, Any] = {}

    def view(request: HttpRequest) -> HttpResponse:
        ctx = events.current_context()
        seen.update(actor=ctx.actor, request_id=ctx.request_id)
        return HttpResponse("ok")

    response = EventContextMiddleware(view)(request)
    return seen, response


def test_the_middleware_sets_actor_and_request_id() -> None:
    user = User.objects.create_user("ada")
    request = RequestFactory().get("/", headers={"X-Request-ID": "req-42"})
    request.user = user
    seen, response = run_middleware(request)
    assert seen == {"actor": f"auth.user:{user.pk}", "request_id": "req-42"}
    assert response.headers["X-Request-ID"] == "req-42"
    assert not events.current_context()


@pytest.mark.parametrize("header", ["x" * 129, "a b", "<script>", "\u00e9"])
def test_a_hostile_request_id_is_replaced(header: str) -> None:
    request = RequestFactory().get("/", headers={"X-Request-ID": header})
    request.user = AnonymousUser()
    seen, _ = run_middleware(request)
    assert seen["actor"] is None
    assert seen["request_id"] != header
    assert len(seen["request_id"]) == 32


def test_the_user_is_not_loaded_unless_a_handler_asks() -> None:
    request = RequestFactory().get("/")
    touched: list[bool] = []

    class LazyUser:
        @property
        def is_authenticated(self) -> bool:
            touched.append(True)
            return False

    request.user = LazyUser()  # type: ignore[assignment]
    EventContextMiddleware(lambda request: HttpResponse())(request)
    assert touched == []


def test_the_async_middleware_sets_the_context() -> None:
    seen: dict[str, Any] = {}

    async def view(request: HttpRequest) -> HttpResponse:
        seen["request_id"] = events.current_context().request_id
        return HttpResponse()

    request = RequestFactory().get("/", headers={"X-Request-ID": "async-1"})
    middleware = EventContextMiddleware(view)
    asyncio.run(middleware(request))
    assert seen == {"request_id": "async-1"}


# -- field filters -------------------------------------------------------------------------------------


def test_a_field_filter_runs_the_handler_only_when_its_fields_changed() -> None:
    ran: list[dict[str, Any]] = []
    events.handle_event(events.PostRecordUpdate, origin=Counter, fields={"count"})(lambda e: ran.append(e.diff))
    counter = Counter.objects.create(name="a", count=1)
    counter.name = "b"
    counter.save()
    counter.count = 2
    counter.save()
    Counter.objects.update(count=3)
    assert [set(diff) & {"count", "name"} for diff in ran] == [{"count"}, {"count"}]


def test_field_filters_cover_many_to_many_and_async_handlers() -> None:
    ran: list[str] = []

    @events.handle_event(events.PostRecordUpdate, origin=Article, fields={"tags"})
    async def retag(event: events.PostRecordUpdate[Article]) -> None:
        ran.append("tags")

    article = Article.objects.create(title="a")
    article.title = "b"
    article.save()
    article.tags.add(Tag.objects.create(label="t"))
    assert ran == ["tags"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event_type": events.PostRecordUpdate, "origin": Counter, "fields": {"cont"}}, "'cont' is not a field"),
        ({"event_type": events.PostRecordCreate, "origin": Counter, "fields": {"count"}}, "has none"),
        ({"event_type": events.PostRecordUpdate, "origin": Counter, "fields": "count"}, "set of field names"),
        ({"event_type": events.PostRecordUpdate, "origin": Counter, "fields": set()}, "at least one field"),
    ],
)
def test_bad_field_filters_fail_at_registration(kwargs: dict[str, Any], message: str) -> None:
    before = events.registrations()
    with pytest.raises(TypeError, match=message):
        events.handle_event(**kwargs)
    assert events.registrations() == before


def test_registering_again_with_other_fields_is_refused() -> None:
    def handler(event: events.PostRecordUpdate[Counter]) -> None:
        pass

    events.handle_event(events.PostRecordUpdate, origin=Counter, fields={"count"})(handler)
    events.handle_event(events.PostRecordUpdate, origin=Counter, fields={"count"})(handler)  # the same: fine
    with pytest.raises(ValueError, match=r"already registered .* with fields=\['count'\]"):
        events.handle_event(events.PostRecordUpdate, origin=Counter, fields={"name"})(handler)
