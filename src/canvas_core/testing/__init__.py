"""Tools for testing code that emits and handles events.

Usable with any test runner as context managers; the pytest plugin
(:mod:`canvas_core.testing.pytest_plugin`, active once canvas-core is
installed) wraps them in fixtures, options and markers.

* :func:`capture_events`: record every emission and assert on it.
* :func:`isolated_handlers`, :func:`only_handlers`, :func:`muted`: control
  which handlers run.
* :func:`shuffled_handlers`: run handlers in a random, seeded order, to find
  handlers that depend on each other's order.
* :func:`raise_handler_failures`: turn handler failures, which the bus
  isolates, into a test failure.
"""

from ._capture import ANY_ORIGIN, CapturedEmission, EventCapture, capture_events
from ._failures import HandlerFailure, HandlerFailureRecorder, HandlerFailuresError, raise_handler_failures
from ._isolation import MutedEvents, isolated_handlers, muted, only_handlers
from ._shuffle import ShuffledOrder, new_seed, shuffled_handlers

__all__ = [
    "ANY_ORIGIN",
    "CapturedEmission",
    "EventCapture",
    "HandlerFailure",
    "HandlerFailureRecorder",
    "HandlerFailuresError",
    "MutedEvents",
    "ShuffledOrder",
    "capture_events",
    "isolated_handlers",
    "muted",
    "new_seed",
    "only_handlers",
    "raise_handler_failures",
    "shuffled_handlers",
]
