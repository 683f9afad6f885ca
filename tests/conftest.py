"""Shared test configuration.

Registrations made during a test are removed after it by canvas-core's own
pytest plugin (``canvas_core.testing.pytest_plugin``, ini ``canvas_isolate_handlers``).
"""

pytest_plugins = ["pytester"]
