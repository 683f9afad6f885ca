"""A model of an app that is not installed at start-up (no table: the test only looks at its wiring)."""

from __future__ import annotations

from django.db import models


class LateArrival(models.Model):
    name = models.CharField(max_length=50)
