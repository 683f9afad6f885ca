"""The event model: a pydantic model with a few rules of its own.

An event is a typed record of something that happened. Handlers read it and
may change it; the emitter gets the changed instance back. Three rules differ
from plain pydantic:

* Bad input raises :class:`EventValidationError`, a :class:`TypeError`, so a
  wrong call looks like a wrong call rather than a ``ValueError``.
* A subclass may define ``__init__(self, **attrs)`` that calls
  ``super().__init__(**attrs)`` and then assigns further fields itself.
  Required fields left out of ``attrs`` are checked once the outermost
  ``__init__`` has returned, not before.
* Construction through :func:`emit_event` skips the Python ``__init__`` frame
  when the class does not define one (see :func:`builder_for`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import AliasChoices, AliasPath, BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic.main import _SIMPLE_SETATTR_HANDLERS
from pydantic_core import ErrorDetails, PydanticCustomError

from ._generics import kept_parametrizations, parametrize_from_values
from ._redaction import public_error

__all__ = ["Event", "EventValidationError"]


class EventValidationError(TypeError):
    """An event was given unknown fields, values of the wrong type, or too few fields.

    It is a :class:`TypeError` because that is what Python raises for a call
    with wrong arguments. The pydantic details stay available through
    :meth:`errors` and :attr:`validation_error`. The message names every bad
    field and what to do about it, but never the values given (events carry
    personal and secret data). :attr:`event_type` is the event class that
    rejected the input.
    """

    def __init__(self, event_type: type[BaseModel], validation_error: ValidationError) -> None:
        self.event_type = event_type
        self.validation_error: ValidationError | None = validation_error
        """Pydantic's own error, inputs included: never log it (``None`` once unpickled)."""
        schema = event_type.__pydantic_core_schema__
        self._errors = [
            public_error(schema, error) for error in validation_error.errors(include_url=False, include_input=False)
        ]
        super().__init__(_describe_errors(event_type.__qualname__, self._errors))

    def errors(self) -> list[ErrorDetails]:
        """Pydantic's structured error list (``loc``, ``type``, ``msg``), without data.

        Input values are left out, mapping keys in ``loc`` are replaced by
        ``"<key>"`` and messages that would quote the input are reworded.
        """
        return [dict(error) for error in self._errors]  # type: ignore[misc]

    def __reduce__(self) -> tuple[Any, ...]:
        # Process pools and Django's parallel test runner pickle exceptions.
        # The rebuilt error keeps the message, the public errors and the event
        # type (a parametrized generic travels as its origin and arguments);
        # pydantic's own error, which holds the inputs, stays behind.
        return (_unpickle_validation_error, (_type_reference(self.event_type), str(self), self._errors))


def _describe_errors(event_name: str, errors: list[ErrorDetails]) -> str:
    lines = [f"invalid arguments for event {event_name}:"]
    for error in errors:
        where = ".".join(str(part) for part in error["loc"]) or "(event)"
        lines.append(f"  {where}: {_explain(error)}")
    return "\n".join(lines)


def _type_reference(event_type: type[BaseModel]) -> object:
    metadata = event_type.__pydantic_generic_metadata__
    if metadata["origin"] is not None:
        return (metadata["origin"], metadata["args"])
    return event_type


def _unpickle_validation_error(
    type_reference: object, message: str, errors: list[ErrorDetails]
) -> EventValidationError:
    if isinstance(type_reference, tuple):
        origin, args = type_reference
        event_type = origin[args if len(args) > 1 else args[0]]
    else:
        event_type = type_reference
    error = EventValidationError.__new__(EventValidationError)
    TypeError.__init__(error, message)
    error.event_type = event_type
    error.validation_error = None
    error._errors = errors
    return error


def _explain(error: ErrorDetails) -> str:
    # Say what to do, not only what went wrong; values are left out on purpose
    # because events carry sensitive data.
    kind = error["type"]
    if kind == "extra_forbidden":
        return "unknown field; events accept only their annotated fields"
    if kind == "missing":
        return "required field missing"
    return error["msg"]


class Event(BaseModel):
    """Base class of every event.

    Declare fields as annotations, exactly as on a pydantic model::

        class BeforeMessageSend(Event):
            message: str

    Instances validate on construction and on every assignment. Unknown
    fields and wrong types raise :class:`EventValidationError` (a
    :class:`TypeError`). Arbitrary classes are allowed as field types and are
    checked with :func:`isinstance`.

    A subclass that needs to compute fields may define
    ``__init__(self, **attrs)``, call ``super().__init__(**attrs)`` and then
    assign the remaining fields; required fields it did not receive are checked
    after its ``__init__`` returns. Type checkers do not understand that
    pattern; ``Field(default_factory=..., init=False)`` is the fully typed
    alternative.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        arbitrary_types_allowed=True,
    )

    # True for classes whose own ``__init__`` may fill required fields after
    # ``super().__init__``; computed per class in ``__pydantic_init_subclass__``.
    __canvas_deferred_init__: ClassVar[bool] = False
    # Fields declared with ``Field(init=False)``: set by the event, never passed.
    # Pydantic honours ``init=False`` only on dataclasses; type checkers honour
    # it on models too, and so do we.
    __canvas_init_false__: ClassVar[frozenset[str]] = frozenset()

    if not TYPE_CHECKING:
        # Hidden from type checkers so that pydantic's ``dataclass_transform``
        # keeps giving every subclass its precise, field-by-field signature.

        def __init__(self, /, **data: Any) -> None:
            if self.__canvas_init_false__:
                _reject_init_false(type(self), data)
            try:
                self.__pydantic_validator__.validate_python(data, self_instance=self)
            except ValidationError as exc:
                cls = type(self)
                if cls.__canvas_deferred_init__ and _only_missing(exc):
                    _init_leaving_missing(self, data)
                else:
                    raise EventValidationError(cls, exc) from None

        # Tell pydantic this __init__ behaves like BaseModel's, so subclasses
        # without their own __init__ are validated without calling it.
        __init__.__pydantic_base_init__ = True

        def _setattr_handler(self, name: str, value: Any) -> Callable[[BaseModel, str, Any], None] | None:
            # pydantic asks this once per class and attribute name and memoizes
            # the answer; swapping in our validating handler converts errors
            # without adding a call to every assignment.
            handler = super()._setattr_handler(name, value)
            if handler is _pydantic_validate_assignment:
                return _validate_assignment
            return handler

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        _reject_reserved_field_names(cls)
        own_init = cls.__dict__.get("__init__")
        if own_init is not None and not getattr(own_init, "__canvas_checked_init__", False):
            cls.__init__ = _checking_required_after(cls, own_init)  # type: ignore[method-assign]
        cls.__canvas_deferred_init__ = cls.__pydantic_custom_init__
        cls.__canvas_init_false__ = frozenset(name for name, field in cls.model_fields.items() if field.init is False)
        if cls.__pydantic_generic_metadata__["origin"] is not None:
            kept_parametrizations.add(cls)


# emit_event()'s own keyword parameter: a field of that name could never be passed.
_RESERVED_FIELD_NAMES = frozenset({"origin"})


def _reject_reserved_field_names(event_type: type[Event]) -> None:
    for name, field in event_type.model_fields.items():
        if field.init is False:
            continue
        for passed_as in _keywords_of(name, field) & _RESERVED_FIELD_NAMES:
            raise TypeError(
                f"{event_type.__qualname__}.{name}: an event field cannot be passed as {passed_as!r}, "
                f"because emit_event(event_type, origin=..., **fields) takes {passed_as!r} itself "
                f"(where the event comes from); give the field another name or alias, e.g. 'source'"
            )


def _keywords_of(name: str, field: FieldInfo) -> set[str]:
    """The keywords a field can be given as: its name, its alias and every validation alias choice."""
    keywords = {name}
    if field.alias is not None:
        keywords.add(field.alias)
    validation_alias = field.validation_alias
    choices = validation_alias.choices if isinstance(validation_alias, AliasChoices) else [validation_alias]
    for choice in choices:
        if isinstance(choice, str):
            keywords.add(choice)
        elif isinstance(choice, AliasPath) and choice.path and isinstance(choice.path[0], str):
            keywords.add(choice.path[0])  # AliasPath("origin", 0) reads the keyword "origin"
    return keywords


def _validate_assignment(event: BaseModel, name: str, value: Any) -> None:
    try:
        event.__pydantic_validator__.validate_assignment(event, name, value)
    except ValidationError as exc:
        raise EventValidationError(type(event), exc) from None


_pydantic_validate_assignment = _SIMPLE_SETATTR_HANDLERS["validate_assignment"]


def _reject_init_false(event_type: type[Event], data: Mapping[str, Any]) -> None:
    given = event_type.__canvas_init_false__.intersection(data)
    if given:
        raise EventValidationError(
            event_type,
            ValidationError.from_exception_data(
                event_type.__name__,
                [
                    {
                        "type": PydanticCustomError(
                            "init_false", "declared with Field(init=False): the event sets it, callers cannot pass it"
                        ),
                        "loc": (name,),
                        "input": None,
                    }
                    for name in sorted(given)
                ],
            ),
        )


def _only_missing(exc: ValidationError) -> bool:
    return all(error["type"] == "missing" for error in exc.errors(include_url=False))


def _init_leaving_missing(event: Event, data: Mapping[str, Any]) -> None:
    """Initialise ``event`` from ``data``, leaving absent required fields unset.

    Used only for classes with their own ``__init__``: that ``__init__`` assigns
    the fields after calling ``super().__init__``, and the wrapper installed by
    :func:`_checking_required_after` verifies afterwards that it did.
    """
    cls = type(event)
    defaults = {
        name: field.get_default(call_default_factory=True, validated_data={})
        for name, field in cls.model_fields.items()
        if not field.is_required() and name not in data
    }
    template = cls.model_construct(**defaults)
    object.__setattr__(event, "__dict__", template.__dict__)
    object.__setattr__(event, "__pydantic_fields_set__", set())
    object.__setattr__(event, "__pydantic_extra__", template.__pydantic_extra__)
    object.__setattr__(event, "__pydantic_private__", template.__pydantic_private__)
    for name, value in data.items():
        setattr(event, name, value)  # validated, and raises EventValidationError


def _checking_required_after(cls: type[Event], init: Callable[..., None]) -> Callable[..., None]:
    @functools.wraps(init)
    def __init__(self: Event, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        # Only the outermost __init__ checks: a subclass's __init__ may still
        # assign fields after this one returns through super().__init__().
        if type(self).__init__ is __init__:
            missing = [name for name in type(self).model_fields if name not in self.__dict__]
            if missing:
                raise EventValidationError(
                    type(self),
                    ValidationError.from_exception_data(
                        cls.__name__,
                        [{"type": "missing", "loc": (name,), "input": {}} for name in missing],
                    ),
                )

    __init__.__canvas_checked_init__ = True  # type: ignore[attr-defined]
    return __init__


def builder_for(event_type: type[Event]) -> Callable[[dict[str, Any]], Event]:
    """Return the fastest correct way to build ``event_type`` from a dict of fields.

    The builder raises pydantic's :class:`ValidationError` or
    :class:`EventValidationError`; callers convert the former. The result is
    meant to be cached (the dispatcher caches it with the handlers), so this
    function itself does the slow checks.
    """
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(
            f"emit_event() needs an Event subclass as its first argument, got {event_type!r}; "
            "declare the event as `class MyEvent(canvas_core.events.Event): ...`"
        )
    builder: Callable[[dict[str, Any]], Event]
    if event_type.__canvas_deferred_init__ or not event_type.__pydantic_complete__:
        # The class's own __init__ must run (or pydantic must first finish
        # building the class, which it does on instantiation).
        # The class's own __init__ must run.
        def builder(fields: dict[str, Any]) -> Event:
            return event_type(**fields)

    elif _is_unparametrized_generic(event_type):
        builder = functools.partial(_build_parametrized, event_type)
    elif event_type.__canvas_init_false__:

        def builder(fields: dict[str, Any]) -> Event:
            _reject_init_false(event_type, fields)
            return event_type.__pydantic_validator__.validate_python(fields)  # type: ignore[no-any-return]

    else:
        # No Python frame at all: pydantic-core builds the instance. The
        # dispatcher turns its ValidationError into EventValidationError.
        builder = event_type.__pydantic_validator__.validate_python
    return builder


def _is_unparametrized_generic(event_type: type[Event]) -> bool:
    return bool(event_type.__pydantic_generic_metadata__["parameters"])


def _build_parametrized(event_type: type[Event], fields: dict[str, Any]) -> Event:
    """Build a generic event whose type arguments are read off its fields.

    ``emit_event(PostRecordUpdate, record=setting, diff={})`` builds a
    ``PostRecordUpdate[Setting]``: each type parameter that annotates a field
    directly takes the class of that field's value.
    """
    concrete = parametrize_from_values(event_type, fields)
    if concrete is event_type:  # the field to infer from is missing: let validation say so
        return event_type.__pydantic_validator__.validate_python(fields)  # type: ignore[no-any-return]
    return builder_for(concrete)(fields)  # type: ignore[arg-type]
