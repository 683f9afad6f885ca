"""Fixtures for the Django integration tests: a recorder of record events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db.models import Model

from canvas_core import events


@dataclass
class Recorded:
    """One record event as a handler saw it: kind, model, diff (a copy), record."""

    kind: str
    model: type[Model]
    diff: dict[str, tuple[Any, Any]] | None
    record: Any


@dataclass
class Recorder:
    """Registers a handler for the record events of a model and keeps what it saw."""

    seen: list[Recorded] = field(default_factory=list)

    def listen(self, model: type[Model], event_type: type[events.Event] = events.RecordEvent) -> Callable[[Any], None]:
        def record(event: Any) -> None:
            diff = dict(event.diff) if hasattr(event, "diff") else None
            kind = type(event).__pydantic_generic_metadata__["origin"].__name__
            self.seen.append(Recorded(kind, type(event.record), diff, event.record))

        events.handle_event(event_type, origin=model)(record)
        return record

    @property
    def kinds(self) -> list[str]:
        return [item.kind for item in self.seen]

    def diffs(self, kind: str = "PostRecordUpdate") -> list[dict[str, tuple[Any, Any]] | None]:
        return [item.diff for item in self.seen if item.kind == kind]

    def clear(self) -> None:
        self.seen.clear()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()
