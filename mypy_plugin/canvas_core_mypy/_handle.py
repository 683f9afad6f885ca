"""``@handle_event(PostRecordUpdate, origin=Book)``: the handler must accept ``PostRecordUpdate[Book]``.

``handle_event``'s declared signature solves its event type from the first
argument alone, so the bare generic class becomes ``PostRecordUpdate[Any]``
and a handler of ``PostRecordUpdate[Author]`` passes, though every event it
receives holds a ``Book``. When the origin is a class and the event type is a
record event generic in its record, this hook fills the record's type
parameter with the origin, and mypy's own check of the decorated function
reports a handler that cannot take it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from mypy.expandtype import expand_type
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import SymbolTableNode, TypeInfo
from mypy.plugin import FunctionSigContext
from mypy.types import (
    AnyType,
    CallableType,
    FunctionLike,
    Instance,
    Overloaded,
    ProperType,
    Type,
    TypeOfAny,
    TypeType,
    TypeVarType,
    get_proper_type,
)

HANDLE_EVENT_FULLNAME: Final = "canvas_core.events._dispatch.handle_event"
RECORD_EVENT_FULLNAME: Final = "canvas_core.events._records.RecordEvent"


def handle_event_signature(ctx: FunctionSigContext, lookup: Callable[[str], SymbolTableNode | None]) -> FunctionLike:
    """Signature hook for ``handle_event``: the event type parametrized with a class origin."""
    signature = ctx.default_signature
    if len(ctx.args) < 2 or len(ctx.args[0]) != 1 or len(ctx.args[1]) != 1 or not signature.variables:
        return signature
    event_variable = get_proper_type(signature.arg_types[0])
    if not (isinstance(event_variable, TypeType) and isinstance(event_variable.item, TypeVarType)):
        return signature
    record_event = lookup(RECORD_EVENT_FULLNAME)
    if record_event is None or not isinstance(record_event.node, TypeInfo):
        return signature
    with ctx.api.msg.filter_errors():  # both arguments are checked (and reported) again with the result
        event_type = get_proper_type(ctx.api.get_expression_type(ctx.args[0][0]))
        origin_type = get_proper_type(ctx.api.get_expression_type(ctx.args[1][0]))
    origin = _class_of(origin_type)
    handled = _handled_event(event_type, origin, record_event.node) if origin is not None else None
    if handled is None:
        return signature
    event_id = event_variable.item.id
    return signature.copy_modified(
        arg_types=[AnyType(TypeOfAny.special_form), *signature.arg_types[1:]],
        ret_type=expand_type(signature.ret_type, {event_id: handled}),
        variables=[variable for variable in signature.variables if variable.id != event_id],
    )


def _class_of(origin: ProperType) -> Instance | None:
    """The class an origin argument is (``Book``, or a ``type[Book]`` value), if it is one."""
    if isinstance(origin, FunctionLike) and origin.is_type_obj():
        item = origin.items[0] if isinstance(origin, Overloaded) else origin
        assert isinstance(item, CallableType)
        returned = get_proper_type(item.ret_type)
        if isinstance(returned, Instance):
            return Instance(returned.type, [AnyType(TypeOfAny.special_form)] * len(returned.args))
    if isinstance(origin, TypeType) and isinstance(origin.item, Instance):
        return origin.item
    return None


def _handled_event(event_type: ProperType, origin: Instance, record_event: TypeInfo) -> Type | None:
    """``event_type`` with its record's type parameter set to ``origin``; ``None`` if it has none free."""
    if not (isinstance(event_type, CallableType) and event_type.is_type_obj() and event_type.variables):
        return None  # not a bare generic class (PostRecordUpdate[Author] says what it wants itself)
    event = get_proper_type(event_type.ret_type)
    if not (isinstance(event, Instance) and event.type.has_base(record_event.fullname)):
        return None
    record = get_proper_type(map_instance_to_supertype(event, record_event).args[0])
    if not isinstance(record, TypeVarType):
        return None
    # The record's parameter becomes the origin; any other parameter stays open.
    substitutions: dict[object, Type] = {
        variable.id: AnyType(TypeOfAny.special_form) for variable in event_type.variables
    }
    substitutions[record.id] = origin
    return expand_type(event, substitutions)  # type: ignore[arg-type]
