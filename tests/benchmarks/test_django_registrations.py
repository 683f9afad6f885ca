"""Registering thousands of handlers in a Django process, where each change reaches the record-event wiring.

Not part of the default test run. Run with::

    .venv/bin/python -m pytest tests/benchmarks/test_django_registrations.py -o addopts="" -p no:randomly \\
        --benchmark-only --benchmark-columns=min,median,rounds

With ``canvas_core`` installed and the test app's models present, each round
registers N handlers after start-up: seven in eight for their own event type,
one in eight for a record event scoped to one of the models (so the wiring has
work to do). The time should grow linearly with N.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.apps import apps
from pytest_benchmark.fixture import BenchmarkFixture

from canvas_core import events
from canvas_core.events._dispatch import registry

SIZES = [1_000, 2_000, 4_000, 8_000]
_event_types: list[type[events.Event]] = []


def _plan(size: int) -> list[tuple[type[events.Event], object]]:
    while len(_event_types) < size:
        _event_types.append(type(f"Startup{len(_event_types)}", (events.Event,), {}))
    models = itertools.cycle(apps.get_models())
    record_kinds: itertools.cycle[type[events.Event]] = itertools.cycle(
        [events.PostRecordUpdate, events.PreRecordDelete, events.RecordEvent]
    )
    targets: list[tuple[type[events.Event], object]] = []
    for index in range(size):
        targets.append((next(record_kinds), next(models)) if index % 8 == 0 else (_event_types[index], None))
    return targets


@pytest.mark.parametrize("size", SIZES)
def test_register_handlers(benchmark: BenchmarkFixture, size: int) -> None:
    benchmark.group = "django-registrations"
    targets = _plan(size)
    base = registry.snapshot()

    def fresh() -> tuple[tuple[list[Any]], dict[str, Any]]:
        registry.restore(base)
        return ([(lambda event: None) for _ in targets],), {}

    def register(handlers: list[Any]) -> None:
        for (event_type, origin), handler in zip(targets, handlers, strict=True):
            events.handle_event(event_type, origin=origin)(handler)

    benchmark.pedantic(register, setup=fresh, rounds=3, iterations=1)  # type: ignore[no-untyped-call]
    registry.restore(base)
