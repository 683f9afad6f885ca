"""Turning an event into JSON for a worker, and back.

Values are dumped with pydantic in JSON mode. A Django model instance, which
JSON cannot carry, travels as a reference (its model label and primary key)
and is fetched again where the event is rebuilt. Django is imported only when
a Django model is met.
"""

from __future__ import annotations

import json
import pkgutil
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ConfigDict, TypeAdapter
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticUserError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticSerializationError, core_schema

from canvas_core.events import Event, PostRecordDelete, PreRecordDelete

__all__ = ["EventNotSerializable", "Job", "RecordNotFound", "check_serializable", "import_path"]


class EventNotSerializable(TypeError):
    """An event cannot be copied to a worker: a field holds a value JSON cannot carry.

    Raised when a background handler is registered for such an event type, or,
    for a value only known when it is emitted, by the emission (where it is
    reported like a handler failure).
    """


class RecordNotFound(LookupError):
    """A record an event refers to no longer exists when the worker rebuilds the event."""


@dataclass(frozen=True, slots=True)
class Job:
    """One background handler to run for one event: everything a worker needs, as JSON-compatible data.

    Records (Django model instances) are listed in :attr:`records`; where one
    occurred, :attr:`fields` holds ``{marker: index}``, a one-key dict whose
    key is this job's random :attr:`marker`, so that no data of the event can
    be mistaken for a record.
    """

    handler: str
    """Import path of the handler, ``module:qualname``."""
    event_type: str
    """Import path of the event class (of its generic origin, for ``PostRecordUpdate[Book]``)."""
    type_args: tuple[str, ...]
    """Import paths of the event class's type arguments (``Book`` in ``PostRecordUpdate[Book]``)."""
    fields: dict[str, Any]
    """The event's fields, dumped in JSON mode."""
    records: tuple[dict[str, Any], ...] = ()
    """References to records: ``{"model": "app_label.model", "pk": ...}``, plus ``"fields"`` for deleted ones."""
    marker: str = ""
    """The key that marks a record's place in :attr:`fields`."""

    @classmethod
    def for_event(cls, handler: str, event: Event) -> Job:
        """Copy ``event`` for ``handler``; raise :class:`EventNotSerializable` if it cannot travel."""
        event_class = type(event)
        metadata = event_class.__pydantic_generic_metadata__
        generic_origin = metadata["origin"] or event_class
        marker = f"__canvas_record_{uuid.uuid4().hex}__"
        records: list[dict[str, Any]] = []

        def encode_unknown(value: Any) -> object:
            records.append(_reference(value))
            return {marker: len(records) - 1}

        # The row of a deleted record is gone by the time the worker runs (and
        # Django may have cleared its primary key): carry its values instead.
        record = getattr(event, "record", None)
        deleted = isinstance(event, PreRecordDelete | PostRecordDelete) and _is_django_model(record)
        try:
            fields = event.model_dump(mode="json", fallback=encode_unknown, exclude={"record"} if deleted else None)
        except PydanticSerializationError as exc:
            raise EventNotSerializable(
                f"{event_class.__qualname__} cannot be copied to a background handler: {exc}"
            ) from None
        if deleted:
            records.append(_snapshot(record))
            fields["record"] = {marker: len(records) - 1}
        return cls(
            handler=handler,
            event_type=import_path(generic_origin, what="event class"),
            type_args=tuple(import_path(argument, what="type argument") for argument in metadata["args"]),
            fields=fields,
            records=tuple(records),
            marker=marker if records else "",
        )

    def to_message(self) -> dict[str, Any]:
        """The job as a JSON-compatible dict (what a task queue carries)."""
        return {
            "handler": self.handler,
            "event_type": self.event_type,
            "type_args": list(self.type_args),
            "fields": self.fields,
            "records": list(self.records),
            "marker": self.marker,
        }

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Job:
        """The job :meth:`to_message` described."""
        return cls(
            message["handler"],
            message["event_type"],
            tuple(message["type_args"]),
            message["fields"],
            tuple(message["records"]),
            message["marker"],
        )

    def load(self) -> tuple[Callable[[Any], object], Event]:
        """Import the handler and rebuild the event (fetching records again)."""
        handler = pkgutil.resolve_name(self.handler)
        event_class = pkgutil.resolve_name(self.event_type)
        if self.type_args:
            arguments = tuple(pkgutil.resolve_name(argument) for argument in self.type_args)
            event_class = event_class[arguments if len(arguments) > 1 else arguments[0]]
        fields = self.fields
        if self.records:
            fetched = [_fetch(reference) for reference in self.records]
            fields = _put_records(fields, self.marker, fetched)
        event = event_class.model_validate(fields)
        assert isinstance(event, Event)
        return handler, event


def import_path(obj: object, *, what: str) -> str:
    """``module:qualname`` of a module-level class or function, checked to resolve back to ``obj``."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(qualname, str) or "<" in qualname or module == "__main__":
        raise EventNotSerializable(
            f"the {what} {obj!r} cannot be found by a worker: background handling needs module-level "
            "classes and functions in an importable module (not __main__, not defined inside a function)"
        )
    return f"{module}:{qualname}"


def check_serializable(event_type: type[Event]) -> None:
    """Raise :class:`EventNotSerializable` unless every field of ``event_type`` can travel as JSON."""
    metadata = event_type.__pydantic_generic_metadata__
    import_path(metadata["origin"] or event_type, what="event class")
    try:
        event_type.model_json_schema(schema_generator=_RecordsAsReferences)
    except (PydanticInvalidForJsonSchema, PydanticUserError) as exc:
        culprit = next(
            (f"field {name!r}" for name in event_type.model_fields if not _field_serializable(event_type, name)),
            "a field",
        )
        raise EventNotSerializable(
            f"{event_type.__qualname__} cannot be copied to a background handler: {culprit} has a type JSON cannot "
            f"carry ({exc.message}). Give its fields JSON-compatible types (or Django models, which travel as "
            "references)."
        ) from None


def _field_serializable(event_type: type[Event], name: str) -> bool:
    annotation: Any = event_type.model_fields[name].annotation
    try:
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
        except PydanticUserError:  # a model, which brings its own config
            adapter = TypeAdapter(annotation)
        adapter.json_schema(schema_generator=_RecordsAsReferences)
    except (PydanticInvalidForJsonSchema, PydanticUserError):
        return False
    return True


class _RecordsAsReferences(GenerateJsonSchema):
    """JSON schema generation that accepts Django models (sent as references) and nothing else arbitrary."""

    def is_instance_schema(self, schema: core_schema.IsInstanceSchema) -> JsonSchemaValue:
        if _is_django_model_class(schema["cls"]):
            return {"type": "object"}
        return super().is_instance_schema(schema)


def _reference(value: Any) -> dict[str, Any]:
    if not _is_django_model(value):
        raise EventNotSerializable(
            f"a value of type {type(value).__qualname__} cannot be copied to a background handler; "
            "use JSON-compatible field types (or Django models, which travel as references)"
        )
    if value.pk is None:
        raise EventNotSerializable(
            f"an unsaved {type(value).__qualname__} cannot be sent to a background handler: it has no primary key"
        )
    return {"model": value._meta.label_lower, "pk": _jsonable(value.pk)}


def _put_records(value: Any, marker: str, records: list[Any]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and marker in value:
            return records[value[marker]]
        return {key: _put_records(item, marker, records) for key, item in value.items()}
    if isinstance(value, list):
        return [_put_records(item, marker, records) for item in value]
    return value


def _fetch(reference: dict[str, Any]) -> Any:
    from django.apps import apps
    from django.core import serializers

    if "fields" in reference:  # a deleted record: rebuilt, not fetched
        [rebuilt] = serializers.deserialize("python", [reference])
        return rebuilt.object
    model = apps.get_model(reference["model"])
    try:
        return model._base_manager.get(pk=reference["pk"])
    except model.DoesNotExist:
        raise RecordNotFound(f"{model.__qualname__} with primary key {reference['pk']!r} no longer exists") from None


def _snapshot(record: Any) -> dict[str, Any]:
    from django.core import serializers

    [serialized] = json.loads(serializers.serialize("json", [record]))
    snapshot: dict[str, Any] = serialized
    return snapshot


def _jsonable(value: object) -> object:
    return value if isinstance(value, int | str) else str(value)  # UUID and other keys: Django parses them back


def _is_django_model(value: object) -> bool:
    models = sys.modules.get("django.db.models")
    return models is not None and isinstance(value, models.Model)


def _is_django_model_class(cls: object) -> bool:
    models = sys.modules.get("django.db.models")
    return models is not None and isinstance(cls, type) and issubclass(cls, models.Model)
