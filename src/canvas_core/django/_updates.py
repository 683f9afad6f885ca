"""Update events for writes that never call ``save()``: ``QuerySet.update()`` and cascaded field updates.

``QuerySet.update(**values)`` is one UPDATE statement; Django builds no
instance and sends no signal. For a model whose update events are handled,
the wrapper here turns it into:

1. one SELECT of the matched rows, locked (``SELECT ... FOR UPDATE`` where the
   database has it, in key order so that overlapping updates queue rather
   than deadlock), that also computes every new value: expressions
   (``F("n") + 1``, ``Case``, subqueries) are selected as annotations, so the
   diff holds the results the UPDATE is about to store;
2. ``PreRecordUpdate`` for each row (the record as it is stored, the diff);
3. the UPDATE, restricted to the rows read (a row committed by someone else in
   between is neither updated nor reported);
4. ``PostRecordUpdate`` for each row, the record now holding the new values,

all in one transaction (the caller's, or one opened for it). Models nobody
listens to run Django's own ``update()``, behind one dictionary lookup.

Cascades (``on_delete=SET_NULL``, ``SET_DEFAULT``, ``SET(...)``) reach the
database either through ``QuerySet.update()`` or through
``UpdateQuery.update_batch()``; both are covered.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.db.models import ExpressionWrapper, Field, ForeignObject, Model, QuerySet
from django.db.models.sql import UpdateQuery

from canvas_core.events._records import UpdateOperation

from . import _wiring
from ._delivery import deliver

__all__ = ["bypassed", "install", "update_with_events"]

logger = logging.getLogger("canvas_core.django")

_django_update = QuerySet.update
_django_update_batch = UpdateQuery.update_batch

_ANNOTATION = "_canvas_new_{}"


class _Bypass(threading.local):
    depth = 0


_bypass = _Bypass()


@contextmanager
def bypassed() -> Iterator[None]:
    """Run Django's own ``update()`` in the block: for writes whose events are emitted already (``bulk_update``)."""
    _bypass.depth += 1
    try:
        yield
    finally:
        _bypass.depth -= 1


def _update(self: QuerySet[Any], **values: Any) -> int:
    hooks = _wiring._tracked.get(self.model)
    if hooks is None or not values or self.query.is_sliced or _bypass.depth:
        return _django_update(self, **values)  # Django's own errors for slices and empty updates
    self._for_write = True  # type: ignore[attr-defined]  # as Django's update() does: self.db is the write database
    return update_with_events(self, hooks, values, "queryset_update")


def _update_batch(self: UpdateQuery, pk_list: list[Any], values: dict[str, Any], using: str) -> None:
    model: type[Model] | None = self.model
    hooks = _wiring._tracked.get(model) if model is not None else None
    if model is None or hooks is None:
        _django_update_batch(self, pk_list, values, using)
        return
    rows = model._base_manager.db_manager(using).filter(pk__in=list(pk_list))
    update_with_events(rows, hooks, values, "cascade")


def update_with_events(
    queryset: QuerySet[Any], hooks: _wiring.ModelHooks, values: dict[str, Any], operation: UpdateOperation
) -> int:
    """Run ``queryset.update(**values)`` with update events for every matched row; return the row count."""
    # Django's own checks first, with its own errors (an unknown field, a joined reference, ordering by an
    # aggregate, a composite pk in an expression...), before anything is read, locked, emitted, or the
    # caller's transaction is marked for rollback: an update of no rows runs no SQL.
    _django_update(queryset.none(), **values)
    model = queryset.model
    using = queryset.db  # the write database: callers mark the queryset for writing
    meta = model._meta
    fields: list[tuple[Field[Any, Any], Any]] = []
    for name, value in values.items():
        field = meta.get_field(name)
        if not isinstance(field, Field) or not field.concrete or field.many_to_many:
            return _django_update(queryset, **values)  # Django raises its own, precise error
        fields.append((field, value))

    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        selected = _plain_rows(queryset, using)
        if connection.features.has_select_for_update:
            if selected.query.group_by is not None:
                # An aggregate annotation groups the rows, and FOR UPDATE is not allowed with GROUP BY:
                # select (and lock) the matched rows themselves.
                selected = model._base_manager.db_manager(using).filter(pk__in=selected.values("pk"))
            of = ("self",) if connection.features.has_select_for_update_of else ()
            selected = selected.select_for_update(of=of)
        annotations = {
            _ANNOTATION.format(i): ExpressionWrapper(value, output_field=field)
            for i, (field, value) in enumerate(fields)
            if hasattr(value, "resolve_expression")
        }
        if annotations:
            selected = selected.annotate(**annotations)
        # Lock in key order: two concurrent update() calls over overlapping rows then queue behind each
        # other instead of deadlocking (in physical order, each could hold a row the other needs next).
        records = list(selected.order_by("pk"))
        if not records:
            return 0

        diffs: list[dict[str, tuple[Any, Any]]] = []
        new_values: list[dict[str, Any]] = []
        for record in records:
            state = record.__dict__
            new: dict[str, Any] = {}
            for i, (field, value) in enumerate(fields):
                key = _ANNOTATION.format(i)
                new[field.attname] = state.pop(key) if key in state else _stored_form(field, value)
            diffs.append(
                {
                    field.name: (state[field.attname], new[field.attname])
                    for field, _ in fields
                    if state[field.attname] != new[field.attname]
                }
            )
            new_values.append(new)

        if hooks.pre_update is not None:
            before = [_field_values(hooks, record) for record in records]
            for record, diff in zip(records, diffs, strict=True):
                deliver(hooks.pre_update, model, using, {"record": record, "diff": dict(diff), "operation": operation})
            _warn_about_unwritten_changes(hooks, records, before, operation)

        pks = [record.pk for record in records]
        count = 0
        for batch in _batches(pks, connection.features.max_query_params):
            # The caller's queryset, restricted to the rows read: values may refer to its annotations.
            count += _django_update(queryset.using(using).filter(pk__in=batch), **values)

        for record, diff, new in zip(records, diffs, new_values, strict=True):
            state = record.__dict__
            for field, _ in fields:
                attname = field.attname
                state[attname] = new[attname]
                if isinstance(field, ForeignObject):
                    record._state.fields_cache.pop(field.name, None)  # a cached related object is stale now
            stored = _wiring._stored(state)
            stored.update(_wiring._capture(hooks, new))
            state[_wiring.STORED] = stored
            if hooks.post_update is not None:
                deliver(hooks.post_update, model, using, {"record": record, "diff": diff, "operation": operation})
        return count


def _plain_rows(queryset: QuerySet[Any], using: str) -> QuerySet[Any]:
    """The rows ``queryset`` matches, as whole model instances with no related objects loaded."""
    if getattr(queryset, "_fields", None) is not None or queryset.query.deferred_loading != (frozenset(), True):
        # values() or only()/defer(): select the same rows afresh, every field loaded.
        rows: QuerySet[Any] = queryset.model._base_manager.db_manager(using).filter(pk__in=queryset.values("pk"))
        return rows
    return queryset.using(using).select_related(None).prefetch_related(None)


def _stored_form(field: Field[Any, Any], value: Any) -> Any:
    """The value a literal becomes once stored, as Django reads it back (a model instance: its key)."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(field, ForeignObject):
        target = field.target_field
        return target.to_python(value) if value is not None else None
    return field.to_python(value) if value is not None else None


def _field_values(hooks: _wiring.ModelHooks, record: Model) -> dict[str, Any]:
    return _wiring._copy_loaded(hooks, record.__dict__)


def _warn_about_unwritten_changes(
    hooks: _wiring.ModelHooks, records: Sequence[Model], before: Sequence[dict[str, Any]], operation: str
) -> None:
    # QuerySet.update() writes only the values it was given; a Pre handler's
    # change to the record would be lost without a word. Say so (names only).
    changed = sorted(
        {
            name
            for record, values in zip(records, before, strict=True)
            for name in _wiring._diff(hooks.fields, values, record.__dict__)
        }
    )
    if changed:
        logger.warning(
            "PreRecordUpdate handlers changed %s of %s records during %s; it writes only the values it was given, "
            "so these changes were not saved (save() or bulk_update() them in a Post handler instead)",
            ", ".join(changed),
            hooks.model._meta.label,
            "QuerySet.update()" if operation == "queryset_update" else "a cascaded update",
            extra={"fields": changed, "model": hooks.model._meta.label},
        )


def _batches(pks: list[Any], limit: int | None) -> list[list[Any]]:
    size = max(1, (limit or 2000) - 10)  # leave room for parameters of the values themselves
    return [pks[start : start + size] for start in range(0, len(pks), size)]


def install() -> None:
    """Wrap ``QuerySet.update`` and ``UpdateQuery.update_batch`` (idempotent; called by the wiring)."""
    QuerySet.update = _update  # type: ignore[method-assign]
    UpdateQuery.update_batch = _update_batch  # type: ignore[method-assign]
