"""Loading: only models whose update events are handled load through canvas-core's from_db."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from canvas_core import events
from canvas_core.django import _wiring
from tests.testapp.models import Counter, Restaurant, Tag

from .conftest import Recorder

pytestmark = pytest.mark.django_db


def test_a_model_nobody_tracks_loads_through_djangos_own_from_db() -> None:
    assert Model.__dict__["from_db"].__func__ is _wiring._django_from_db
    assert "from_db" not in Tag.__dict__

    def relabel(event: events.PostRecordUpdate[Tag]) -> None:
        pass

    events.handle_event(events.PostRecordUpdate[Tag])(relabel)
    assert "from_db" in Tag.__dict__  # tracked: loads keep their row, for the next save's diff
    events.remove_handler(relabel)
    assert "from_db" not in Tag.__dict__
    assert Tag.from_db.__func__ is _wiring._django_from_db  # type: ignore[attr-defined]


def test_a_tracked_model_with_its_own_from_db_keeps_it(recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    Counter.objects.create(name="a", count=1)
    loaded: list[str] = []

    def own_from_db(
        cls: type[Counter], /, db: str, field_names: Sequence[str], values: Sequence[Any], **options: Any
    ) -> Counter:
        loaded.append(db)
        record: Counter = _wiring._django_from_db(cls, db, field_names, values, **options)
        return record

    own = classmethod(own_from_db)
    monkeypatch.setattr(Counter, "from_db", own, raising=False)
    handler = recorder.listen(Counter, events.PostRecordUpdate)
    counter = Counter.objects.get()
    assert loaded == ["default"]
    counter.count = 2
    with CaptureQueriesContext(connection) as queries:
        counter.save()
    assert len(queries) == 1  # the UPDATE: the row was kept at load, so the diff needed no query
    assert [diff["count"] for diff in recorder.diffs() if diff] == [(1, 2)]
    events.remove_handler(handler)
    assert Counter.__dict__["from_db"] is own  # given back once nobody tracks the model


def test_a_tracked_parent_and_child_keep_one_row_each(recorder: Recorder) -> None:
    restaurant = Restaurant.objects.create(name="Luigi", serves_pizza=False)
    recorder.listen(Restaurant, events.PostRecordUpdate)
    loaded = Restaurant.objects.get(pk=restaurant.pk)
    assert _wiring.STORED in loaded.__dict__
    loaded.serves_pizza = True
    loaded.save()
    assert recorder.diffs() == [{"serves_pizza": (False, True)}]
