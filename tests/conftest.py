"""Shared fixtures: every test starts and ends with the registrations it found."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from canvas_core.events._dispatch import registry


@pytest.fixture(autouse=True)
def _restore_registrations() -> Iterator[None]:
    before = registry.registrations()
    yield
    registry.clear()
    for registration in before:
        registry.add(registration.event_type, registration.origin, registration.handler)


@pytest.fixture
def empty_registry(_restore_registrations: None) -> None:
    """Start the test with no handler registered (start-up ``handlers`` modules included)."""
    registry.clear()
