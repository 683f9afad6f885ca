"""The Django tables of background delivery: the outbox (and ledger) of jobs, and the dead letters.

Defined here, exported by :mod:`canvas_core.models` (so they belong to the
``canvas_core`` app and its migrations); imported only with Django.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

__all__ = ["BackgroundJob", "DeadLetter"]


class BackgroundJob(models.Model):
    """One background job: its payload when it went through the outbox, and what workers did with it.

    A job emitted inside a transaction is inserted in that transaction with its
    :attr:`payload`; the broker message only names its id. A job published
    directly (outside a transaction) gets a row, without payload, when a
    worker first receives it. Either way the row counts deliveries, so that a
    job that keeps killing its worker is dead-lettered, and records when the
    job finished, so that a redelivered job does not run again.
    """

    id = models.UUIDField(primary_key=True)
    handler = models.CharField(max_length=255, help_text="Name of the background handler (module:qualname).")
    event_type = models.CharField(max_length=500, help_text="Name of the event class.")
    payload: models.JSONField[Any, Any] = models.JSONField(
        null=True, blank=True, help_text="The job (event fields included) when it went through the outbox."
    )
    created_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True, help_text="When a relay handed it to the broker.")
    deliveries = models.PositiveIntegerField(default=0, help_text="How many times a worker started it.")
    attempts = models.PositiveIntegerField(default=0, help_text="How many of those runs ended (failed or not).")
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=20, blank=True, help_text="'done' or 'dead-lettered' once finished.")

    objects = models.Manager()

    class Meta:
        app_label = "canvas_core"
        indexes = (models.Index(fields=("published_at", "created_at"), name="canvas_job_unpublished"),)

    def __str__(self) -> str:
        return f"{self.handler} ({self.id})"


class DeadLetter(models.Model):
    """A job no worker could complete, kept for ``canvas-events dead-letters replay`` or ``discard``."""

    id = models.UUIDField(primary_key=True)
    job_id = models.CharField(max_length=64, blank=True, help_text="The job's id, when the message named one.")
    handler = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=500, blank=True)
    reason = models.TextField(help_text="Why the job was dead-lettered (no field values).")
    payload: models.JSONField[Any, Any] = models.JSONField(
        null=True, blank=True, help_text="The job, when it came from a trusted source; replay needs it."
    )
    deliveries = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    objects = models.Manager()

    class Meta:
        app_label = "canvas_core"
        ordering = ("created_at",)

    def __str__(self) -> str:
        return f"{self.handler or '(unknown handler)'}: {self.reason[:80]}"

    @property
    def replayable(self) -> bool:
        """Whether the job came from a trusted source and was kept, so that ``replay`` can enqueue it again."""
        return self.payload is not None
