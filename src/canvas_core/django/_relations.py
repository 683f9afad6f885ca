"""Update events for many-to-many changes: ``add``, ``remove``, ``set`` and ``clear``, from either side.

A many-to-many relation belongs to the model that declares the
``ManyToManyField``: when ``book.tags.add(t)`` or ``tag.book_set.add(b)``
changes which tags a book has, that book gets ``PreRecordUpdate`` and
``PostRecordUpdate`` with ``diff = {"tags": (old, new)}``, ``old`` and ``new``
being the sorted tuples of related primary keys. Records whose relation did
not change (adding what is there already) get no event.

Django's ``m2m_changed`` signal says what is about to change; the relation's
rows are read from the through table before and after (one query each), in
the caller's transaction. The receivers are connected only for through models
whose declaring model has handled update events.

Rows of a through model you declare (``through=Membership``) are records like
any other: their create and delete events fire from the writes Django makes
for them. The table Django creates by itself for a plain ``ManyToManyField``
is not a model of the application (Django sends no delete signals for it and
inserts its rows with conflicts ignored), so its rows have no events of their
own: the declaring record's update event is the one to handle.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import router
from django.db.models import ForeignKey, ManyToManyField, Model
from django.db.models.signals import m2m_changed

from . import _wiring
from ._delivery import deliver

__all__ = ["connect"]

_UID = "canvas_core.m2m_events"

# through model -> the ManyToManyField it stores (for the models wired now)
_relations: dict[type[Model], ManyToManyField[Any, Any]] = {}


class _Pending(threading.local):
    def __init__(self) -> None:
        # What a pre_* signal read, for the matching post_* (they nest: a handler may change relations too).
        self.stack: list[tuple[tuple[Any, ...], list[Model], dict[Any, tuple[Any, ...]]]] = []


_pending = _Pending()
_MAX_PENDING = 64


def connect(hooks_by_model: Mapping[type[Model], _wiring.ModelHooks]) -> None:
    """Listen to the many-to-many relations of the models whose update events are handled (and no others)."""
    wanted: dict[type[Model], ManyToManyField[Any, Any]] = {}
    for model, hooks in hooks_by_model.items():
        if not hooks.tracks:
            continue
        for field in model._meta.local_many_to_many:
            if isinstance(field, ManyToManyField):
                wanted[_through(field)] = field
    for through in set(_relations) - set(wanted):
        m2m_changed.disconnect(sender=through, dispatch_uid=_UID)
    for through in set(wanted) - set(_relations):
        m2m_changed.connect(_on_m2m_changed, sender=through, weak=False, dispatch_uid=_UID)
    _relations.clear()
    _relations.update(wanted)


def _on_m2m_changed(
    sender: type[Model],
    instance: Model,
    action: str,
    reverse: bool,
    model: type[Model],
    pk_set: set[Any] | None,
    using: str,
    **kwargs: Any,
) -> None:
    field = _relations.get(sender)
    if field is None:
        return
    owner_model = _declaring_model(field)
    hooks = _wiring._tracked.get(owner_model)
    key = (sender, id(instance), action.partition("_")[2])
    stack = _pending.stack
    if action.startswith("pre_"):
        if hooks is None:
            return
        owners = _owners(field, instance, reverse, pk_set, using)
        old = _related_keys(field, [owner.pk for owner in owners], using)
        if len(stack) >= _MAX_PENDING:  # pre_* signals whose change failed before its post_*
            del stack[0]
        stack.append((key, owners, old))
        new = _predicted(field, action, instance, reverse, pk_set, owners, old)
        if hooks.pre_update is not None:
            for owner in owners:
                before, after = old.get(owner.pk, ()), new.get(owner.pk, ())
                if before != after:
                    _deliver(hooks.pre_update, owner, field, before, after, using)
        return
    for position in range(len(stack) - 1, -1, -1):
        if stack[position][0] == key:
            _, owners, old = stack.pop(position)
            break
    else:  # a post_* without its pre_* (sent by hand, or wiring changed in between): nothing to compare
        return
    if hooks is None or not owners:
        return
    current = _related_keys(field, [owner.pk for owner in owners], using)
    if hooks.post_update is not None:
        for owner in owners:
            before, after = old.get(owner.pk, ()), current.get(owner.pk, ())
            if before != after:
                _deliver(hooks.post_update, owner, field, before, after, using)


def _deliver(
    event_type: Any,
    owner: Model,
    field: ManyToManyField[Any, Any],
    old: tuple[Any, ...],
    new: tuple[Any, ...],
    using: str,
) -> None:
    deliver(event_type, type(owner), using, {"record": owner, "diff": {field.name: (old, new)}, "operation": "m2m"})


def _owners(
    field: ManyToManyField[Any, Any], instance: Model, reverse: bool, pk_set: set[Any] | None, using: str
) -> list[Model]:
    """The records of the declaring model whose relation the change can affect."""
    if not reverse:
        return [instance]
    declaring = _declaring_model(field)
    manager = declaring._base_manager.db_manager(using or router.db_for_write(declaring))
    if pk_set is None:  # tag.book_set.clear(): every book that has this tag
        source, target = _columns(field)
        through = _through(field)
        ids = through._base_manager.db_manager(using).filter(**{target: instance.pk}).values(source)
        return list(manager.filter(pk__in=ids).order_by("pk"))
    return list(manager.filter(pk__in=pk_set).order_by("pk"))


def _predicted(
    field: ManyToManyField[Any, Any],
    action: str,
    instance: Model,
    reverse: bool,
    pk_set: set[Any] | None,
    owners: Iterable[Model],
    old: Mapping[Any, tuple[Any, ...]],
) -> dict[Any, tuple[Any, ...]]:
    """Each owner's related keys once the change is made."""
    predicted: dict[Any, tuple[Any, ...]] = {}
    for owner in owners:
        keys = set(old.get(owner.pk, ()))
        changed = {instance.pk} if reverse else set(pk_set or ())
        if action == "pre_add":
            keys |= changed
        elif action == "pre_remove":
            keys -= changed
        elif action == "pre_clear":
            keys = keys - {instance.pk} if reverse else set()
        predicted[owner.pk] = tuple(sorted(keys))
    return predicted


def _related_keys(field: ManyToManyField[Any, Any], owner_pks: list[Any], using: str) -> dict[Any, tuple[Any, ...]]:
    """owner pk -> sorted tuple of related pks, read from the through table (one query)."""
    if not owner_pks:
        return {}
    source, target = _columns(field)
    through = _through(field)
    rows = through._base_manager.db_manager(using).filter(**{f"{source}__in": owner_pks}).values_list(source, target)
    related: dict[Any, list[Any]] = {pk: [] for pk in owner_pks}
    for owner_pk, related_pk in rows:
        related[owner_pk].append(related_pk)
    return {pk: tuple(sorted(keys)) for pk, keys in related.items()}


def _columns(field: ManyToManyField[Any, Any]) -> tuple[str, str]:
    """The through model's attnames pointing at the declaring model and at the related one."""
    through_meta = _through(field)._meta
    source = through_meta.get_field(field.m2m_field_name())
    target = through_meta.get_field(field.m2m_reverse_field_name())
    assert isinstance(source, ForeignKey)
    assert isinstance(target, ForeignKey)
    return source.attname, target.attname


def _through(field: ManyToManyField[Any, Any]) -> type[Model]:
    through = field.remote_field.through
    assert through is not None  # set once the app registry is ready, as it is whenever models are written
    return through


def _declaring_model(field: ManyToManyField[Any, Any]) -> type[Model]:
    model: type[Model] | None = field.model
    assert model is not None
    return model
