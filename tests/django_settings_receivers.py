"""The test settings, with handlers also discovered in each app's ``receivers`` module."""

from tests.django_settings import *  # noqa: F403

CANVAS_HANDLER_MODULES = ("handlers", "receivers")
