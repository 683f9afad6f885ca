"""Project configuration held in the database: the active Setting model.

Requires Django (``canvas-core[django]``) and ``"canvas_core"`` in
``INSTALLED_APPS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from .models import AbstractSetting

__all__ = ["DEFAULT_SETTING_MODEL", "get_setting_model"]

DEFAULT_SETTING_MODEL = "canvas_core.Setting"
"""The model :func:`get_setting_model` returns unless ``CANVAS_SETTING_MODEL`` names another."""


def get_setting_model() -> type[AbstractSetting]:
    """Return the active Setting model: ``settings.CANVAS_SETTING_MODEL``, else ``canvas_core.Setting``.

    Like :func:`django.contrib.auth.get_user_model`, it may be called while
    models are still being imported (at module level of a ``models`` or
    ``handlers`` module). Raises :class:`ImproperlyConfigured` when the setting
    is malformed or names a model that is not installed.
    """
    label = getattr(settings, "CANVAS_SETTING_MODEL", DEFAULT_SETTING_MODEL)
    try:
        model: type[AbstractSetting] = apps.get_model(label, require_ready=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"CANVAS_SETTING_MODEL must be of the form 'app_label.ModelName', got {label!r}"
        ) from None
    except LookupError:
        raise ImproperlyConfigured(
            f"CANVAS_SETTING_MODEL refers to model {label!r}, which is not installed; "
            "add its app to INSTALLED_APPS or fix the label"
        ) from None
    return model
