"""canvas-core: a statically typed, in-process event bus, with Django integration.

The event bus is :mod:`canvas_core.events`; structured logging is
:mod:`canvas_core.logging`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("canvas-core")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
