"""Shared test configuration.

Registrations made during a test are removed after it by canvas-core's own
pytest plugin (``canvas_core.testing.pytest_plugin``, ini ``canvas_isolate_handlers``).
"""

from __future__ import annotations

import pytest

from canvas_core.events._dispatch import registry

pytest_plugins = ["pytester"]


@pytest.fixture
def empty_registry(_canvas_core_isolated_handlers: None) -> None:
    """Start the test with no handler registered (start-up ``handlers`` modules included).

    The plugin's isolation, requested first, brings them back after the test.
    """
    registry.clear()
