"""The same table four times: plain Django, canvas-core, django-lifecycle, django-dirtyfields."""

from __future__ import annotations

from typing import Any

from dirtyfields import DirtyFieldsMixin  # type: ignore[import-untyped]
from django.db import models
from django_lifecycle import AFTER_UPDATE, LifecycleModelMixin, hook

handled: list[Any] = []
"""Where every peer's update handler puts what it received (the diff, where it has one)."""


class Row(models.Model):
    name = models.CharField(max_length=100)
    count = models.IntegerField(default=0)
    metadata = models.JSONField(default=dict)

    class Meta:
        abstract = True


class PlainRow(Row):
    """Plain Django: a post_save receiver is the update handler (it gets no diff)."""


class CanvasRow(Row):
    """canvas-core: a PostRecordUpdate handler with the diff."""


class LifecycleRow(LifecycleModelMixin, Row):
    """django-lifecycle: an AFTER_UPDATE hook reading the diff."""

    @hook(AFTER_UPDATE)  # type: ignore[untyped-decorator]
    def on_update(self) -> None:
        handled.append(self._diff_with_initial)


class DirtyRow(DirtyFieldsMixin, Row):  # type: ignore[misc]
    """django-dirtyfields: a pre_save receiver reading the dirty fields (reset after the save)."""


# The same table again, for canvas-core against plain Django with equivalent receivers
# (tests/benchmarks/test_records.py::test_against_django_receivers): each pair gets the same
# trivial work from its receivers or handlers, on the same events.


class ReceiverRow(Row):
    """Plain Django: post_init, post_save, pre_delete and post_delete receivers."""


class EventRow(Row):
    """canvas-core: PostRecordCreate, PostRecordUpdate, PreRecordDelete and PostRecordDelete handlers."""


class ReceiverDeleteRow(Row):
    """Plain Django: pre_delete and post_delete receivers only."""


class EventDeleteRow(Row):
    """canvas-core: PreRecordDelete and PostRecordDelete handlers only."""
