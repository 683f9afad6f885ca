"""Events for many-to-many changes: ``add``, ``remove``, ``set`` and ``clear``, from either side.

A many-to-many relation belongs to the model that declares the
``ManyToManyField``: when ``book.tags.add(t)`` or ``tag.book_set.add(b)``
changes which tags a book has, that book gets ``PreRecordUpdate`` and
``PostRecordUpdate`` with ``diff = {"tags": (old, new)}``, ``old`` and ``new``
being the sorted tuples of related primary keys. Records whose relation did
not change (adding what is there already) get no event.

Django's ``m2m_changed`` signal says what is about to change; the relation's
rows are read from the through table before and after (one query each), in
the caller's transaction. The receivers are connected only for through models
whose declaring model has handled update events, or which are handled
themselves (below).

Rows of a through model you declare (``through=Membership``) are records like
any other: their create and delete events fire from the writes Django makes
for them. The rows of a table Django creates by itself for a plain
``ManyToManyField`` are written without signals (inserted with conflicts
ignored, deleted without ``pre_delete``/``post_delete``): when that through
model is handled, their create and delete events are emitted here, from the
same ``m2m_changed`` signals (the inserted rows' keys read back in one query;
the rows about to be deleted read in one, and those gone in another). The
mirrored rows of a symmetrical relation to self are written with no signal at
all, and have no events.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import connections, router
from django.db.models import ForeignKey, ManyToManyField, Model
from django.db.models.signals import m2m_changed

from . import _wiring
from ._delivery import deliver, deliver_each

__all__ = ["connect"]

_UID = "canvas_core.m2m_events"

# through model -> the ManyToManyField it stores (for the models wired now)
_relations: dict[type[Model], ManyToManyField[Any, Any]] = {}


class _Pending(threading.local):
    def __init__(self) -> None:
        # What a pre_* signal read, for the matching post_* (they nest: a handler may change relations too).
        # (signal key, owners, their related keys before, through rows about to be inserted or deleted)
        self.stack: list[tuple[tuple[Any, ...], list[Model], dict[Any, tuple[Any, ...]], list[Model]]] = []


_pending = _Pending()
_MAX_PENDING = 64


def connect(hooks_by_model: Mapping[type[Model], _wiring.ModelHooks]) -> None:
    """Listen to the many-to-many relations whose changes someone handles (and no others).

    Those of the models whose update events are handled, and those whose auto-created through model has
    create or delete events handled (Django sends no signal of its own for those rows).
    """
    wanted: dict[type[Model], ManyToManyField[Any, Any]] = {}
    for model, hooks in hooks_by_model.items():
        if hooks.tracks:
            for field in model._meta.local_many_to_many:
                if isinstance(field, ManyToManyField):
                    wanted[_through(field)] = field
        if hooks.pre_create is not None or hooks.post_create is not None or hooks.deletes:
            table_of = _table_of(model)
            if table_of is not None:
                wanted[model] = table_of
    for through in set(_relations) - set(wanted):
        m2m_changed.disconnect(sender=through, dispatch_uid=_UID)
    for through in set(wanted) - set(_relations):
        m2m_changed.connect(_on_m2m_changed, sender=through, weak=False, dispatch_uid=_UID)
    _relations.clear()
    _relations.update(wanted)


def _table_of(model: type[Model]) -> ManyToManyField[Any, Any] | None:
    """The ManyToManyField whose auto-created through model ``model`` is (None: not one)."""
    declaring = model._meta.auto_created
    if not isinstance(declaring, type):
        return None
    for field in declaring._meta.local_many_to_many:
        if isinstance(field, ManyToManyField) and field.remote_field.through is model:
            return field
    return None


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
    if field is None or connections[using].needs_rollback:
        # In a transaction marked for rollback nothing can be written: read nothing, report nothing
        # (a query would raise TransactionManagementError where Django raises its own error first).
        return
    owner_model = _declaring_model(field)
    hooks = _wiring._tracked.get(owner_model)
    row_hooks = _row_hooks(sender)
    key = (sender, id(instance), action.partition("_")[2])
    stack = _pending.stack
    if action.startswith("pre_"):
        owners: list[Model] = []
        old: dict[Any, tuple[Any, ...]] = {}
        if hooks is not None:
            owners = _owners(field, instance, reverse, pk_set, using)
            old = _related_keys(field, [owner.pk for owner in owners], using)
        rows = _rows_changing(field, action, instance, reverse, pk_set, using, row_hooks)
        if hooks is None and not rows:
            return
        if len(stack) >= _MAX_PENDING:  # pre_* signals whose change failed before its post_*
            del stack[0]
        stack.append((key, owners, old, rows))
        if hooks is not None and hooks.pre_update is not None:
            new = _predicted(field, action, instance, reverse, pk_set, owners, old)
            for owner in owners:
                before, after = old.get(owner.pk, ()), new.get(owner.pk, ())
                if before != after:
                    _deliver(hooks.pre_update, owner, field, before, after, using)
        if rows and row_hooks is not None:
            pre = row_hooks.pre_create if action == "pre_add" else row_hooks.pre_delete
            if pre is not None:
                deliver_each(pre, sender, using, [{"record": row} for row in rows])
        return
    for position in range(len(stack) - 1, -1, -1):
        if stack[position][0] == key:
            _, owners, old, rows = stack.pop(position)
            break
    else:  # a post_* without its pre_* (sent by hand, or wiring changed in between): nothing to compare
        return
    if rows and row_hooks is not None:
        if action == "post_add":
            done, post = _mark_inserted(field, rows, reverse, using, row_hooks), row_hooks.post_create
        else:
            done, post = _gone(rows, using), row_hooks.post_delete
        if post is not None and done:
            deliver_each(post, sender, using, [{"record": row} for row in done])
    if hooks is None or not owners:
        return
    current = _related_keys(field, [owner.pk for owner in owners], using)
    if hooks.post_update is not None:
        for owner in owners:
            before, after = old.get(owner.pk, ()), current.get(owner.pk, ())
            if before != after:
                _deliver(hooks.post_update, owner, field, before, after, using)


def _row_hooks(through: type[Model]) -> _wiring.ModelHooks | None:
    """The hooks of an auto-created through model, whose rows' create and delete events are emitted here."""
    hooks = _wiring._hooks.get(through)
    if hooks is None or not through._meta.auto_created:
        return None
    return hooks


def _rows_changing(
    field: ManyToManyField[Any, Any],
    action: str,
    instance: Model,
    reverse: bool,
    pk_set: set[Any] | None,
    using: str,
    hooks: _wiring.ModelHooks | None,
) -> list[Model]:
    """The through rows the change is about to insert (unsaved) or delete (read, one query)."""
    if hooks is None or (action != "pre_clear" and not pk_set):
        return []
    if field.remote_field.symmetrical:
        # Django writes the mirrored row of a symmetrical relation to self without a signal: which it
        # inserts or deletes is not known here, so these rows have no events (documented).
        return []
    source, target = _columns(field)
    fixed, varying = (target, source) if reverse else (source, target)
    through = _through(field)
    if action == "pre_add":
        # Where the database ignores conflicts, Django inserts with bulk_create(ignore_conflicts=True), which
        # cannot say what it inserted: the rows are the keys Django found missing (pk_set). Elsewhere it
        # inserts them plainly, and bulk_create emits their events itself.
        if not connections[using].features.supports_ignore_conflicts:
            return []
        if hooks.pre_create is None and hooks.post_create is None:
            return []
        return [through(**{fixed: instance.pk, varying: pk}) for pk in sorted(pk_set or ())]
    if not hooks.deletes:
        return []
    rows = through._base_manager.db_manager(using).filter(**{fixed: instance.pk})
    if pk_set is not None:
        rows = rows.filter(**{f"{varying}__in": pk_set})
    return list(rows.order_by(varying))


def _gone(rows: list[Model], using: str) -> list[Model]:
    """Those of ``rows`` (read before a removal) that are not stored any more (one query)."""
    model = type(rows[0])
    kept = set(
        model._base_manager.db_manager(using).filter(pk__in=[row.pk for row in rows]).values_list("pk", flat=True)
    )
    return [row for row in rows if row.pk not in kept]


def _mark_inserted(
    field: ManyToManyField[Any, Any], rows: list[Model], reverse: bool, using: str, hooks: _wiring.ModelHooks
) -> list[Model]:
    """Give the rows ``add()`` inserted their keys, read back in one query, as a save does; return those found."""
    source, target = _columns(field)
    fixed, varying = (target, source) if reverse else (source, target)
    through = _through(field)
    found = (
        through._base_manager.db_manager(using)
        .filter(**{fixed: getattr(rows[0], fixed), f"{varying}__in": [getattr(row, varying) for row in rows]})
        .values_list(varying, "pk")
    )
    keys = dict(found)
    inserted = []
    for row in rows:
        pk = keys.get(getattr(row, varying))
        if pk is None:  # deleted again before post_add (by a Pre handler, say): nothing to report
            continue
        row.pk = pk
        row._state.adding = False
        row._state.db = using
        if hooks.tracks:
            row.__dict__[_wiring.STORED] = _wiring._capture(hooks, row.__dict__)
        inserted.append(row)
    return inserted


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
