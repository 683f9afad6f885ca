"""Record lifecycle events: generic over the record's type, tied to no ORM.

An ORM integration (``canvas_core.django`` for Django) emits them around each
write as the parametrized class for the record's model, with the model class as
``origin``::

    emit_event(PostRecordUpdate[Setting], origin=Setting, record=setting, diff=diff)

``PostRecordUpdate[Setting]`` validates that ``record`` is a ``Setting``.
"""

from __future__ import annotations

from typing import Any, Generic, Literal, TypeAlias, TypeVar

from ._event import Event

__all__ = [
    "PostRecordCreate",
    "PostRecordDelete",
    "PostRecordUpdate",
    "PreRecordCreate",
    "PreRecordDelete",
    "PreRecordUpdate",
    "RecordEvent",
]

R = TypeVar("R")

Diff = dict[str, tuple[Any, Any]]
UpdateOperation: TypeAlias = Literal["save", "bulk_update", "queryset_update", "m2m", "cascade"]


class RecordEvent(Event, Generic[R]):
    """Base of the six lifecycle events. A handler for it hears all of them."""

    record: R
    """The record being written. Pre handlers may change it before it is saved."""
    database: str | None = None
    """The alias of the database written to (Django's ``using``), when the ORM says."""


class PreRecordCreate(RecordEvent[R], Generic[R]):
    """A new record is about to be inserted."""


class PostRecordCreate(RecordEvent[R], Generic[R]):
    """A new record was inserted."""


class PreRecordUpdate(RecordEvent[R], Generic[R]):
    """An existing record is about to be updated."""

    diff: Diff
    """Field name -> ``(old, new)`` for each field whose stored value is about to change."""
    update_fields: frozenset[str] | None = None
    """For ``save(update_fields=...)``: the fields being saved; ``None`` when all of them are."""
    operation: UpdateOperation = "save"
    """The write that causes the update: ``"save"``, ``"bulk_update"``, ``"queryset_update"``, ``"m2m"``
    (a many-to-many relation changed) or ``"cascade"`` (``on_delete=SET_NULL`` and the like)."""


class PostRecordUpdate(RecordEvent[R], Generic[R]):
    """An existing record was updated."""

    diff: Diff
    """Field name -> ``(old, new)`` for each field whose stored value changed."""
    update_fields: frozenset[str] | None = None
    """For ``save(update_fields=...)``: the fields saved; ``None`` when all of them were."""
    operation: UpdateOperation = "save"
    """The write that caused the update (see :attr:`PreRecordUpdate.operation`)."""


class PreRecordDelete(RecordEvent[R], Generic[R]):
    """A record is about to be deleted."""


class PostRecordDelete(RecordEvent[R], Generic[R]):
    """A record was deleted."""
