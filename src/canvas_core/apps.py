"""Django app configuration: ``INSTALLED_APPS = [..., "canvas_core"]``."""

from __future__ import annotations

from django.apps import AppConfig


class CanvasCoreConfig(AppConfig):
    """Installs the record lifecycle events and imports every app's ``handlers`` module."""

    name = "canvas_core"
    label = "canvas_core"
    verbose_name = "canvas-core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # First: the handlers modules _wiring imports may register background
        # handlers, which need canvas_core.background and the configured engine.
        from .background import _checks, _settings  # _checks registers the system checks

        _settings.configure_from_django()
        del _checks

        from .django import _wiring

        _wiring.install()
