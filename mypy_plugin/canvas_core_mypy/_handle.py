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

from mypy.errorcodes import ErrorCode
from mypy.expandtype import expand_type
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import (
    CallExpr,
    Expression,
    ListExpr,
    NameExpr,
    SetExpr,
    StrExpr,
    SymbolTableNode,
    TupleExpr,
    TypeInfo,
    Var,
)
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
    if origin is not None:
        _check_field_filter(ctx, origin.type)
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


DJANGO_MODEL_FULLNAME: Final = "django.db.models.base.Model"
DJANGO_FIELD_FULLNAME: Final = "django.db.models.fields.Field"


def _check_field_filter(ctx: FunctionSigContext, origin: TypeInfo) -> None:
    """Report names in ``fields={...}`` that are not fields of a Django model origin, as run time does.

    Only literal sets (lists, tuples) of string literals are read, and only
    models whose attributes all have known types; anything else is left to the
    run-time check rather than guessed.
    """
    fields_argument = _argument(ctx, "fields")
    if fields_argument is None:
        return
    names = _literal_names(fields_argument)
    known = _model_field_names(origin) if names is not None else None
    if names is None or known is None:
        return
    for name in sorted(names - known):
        ctx.api.fail(
            f'"{name}" is not a field of {origin.name}; handle_event(fields=...) names fields of the origin model '
            f"({', '.join(sorted(known))})",
            fields_argument,
            code=HANDLE_EVENT_FIELDS,
        )


HANDLE_EVENT_FIELDS: Final = ErrorCode(
    "canvas-fields", "handle_event(fields=...) names a field the origin lacks", "canvas"
)


def _argument(ctx: FunctionSigContext, name: str) -> Expression | None:
    signature = ctx.default_signature
    if name not in signature.arg_names:
        return None
    arguments = ctx.args[signature.arg_names.index(name)]
    return arguments[0] if len(arguments) == 1 else None


def _literal_names(expression: Expression) -> set[str] | None:
    if (
        isinstance(expression, CallExpr)
        and isinstance(expression.callee, NameExpr)
        and expression.callee.fullname in ("builtins.frozenset", "builtins.set")
        and len(expression.args) == 1
    ):
        expression = expression.args[0]
    if not isinstance(expression, SetExpr | ListExpr | TupleExpr):
        return None
    names = set()
    for item in expression.items:
        if not isinstance(item, StrExpr):
            return None
        names.add(item.value)
    return names


def _model_field_names(origin: TypeInfo) -> set[str] | None:
    """The field names of a Django model class, or ``None`` when they cannot all be seen.

    A field is a class attribute whose type is a Django ``Field`` (as mypy
    infers ``title = models.CharField(...)`` and as stubs declare
    ``title: models.CharField[...]``), on the model or a base model.
    """
    if not origin.has_base(DJANGO_MODEL_FULLNAME):
        return None
    names = {"id"}  # the automatic primary key
    for info in origin.mro:
        if info.fullname == DJANGO_MODEL_FULLNAME:
            break
        for name, symbol in info.names.items():
            node = symbol.node
            if not isinstance(node, Var):
                continue
            if node.type is None:
                return None  # not inferred (yet): do not guess
            declared = get_proper_type(node.type)
            if isinstance(declared, Instance) and declared.type.has_base(DJANGO_FIELD_FULLNAME):
                names.add(name)
    names.discard("pk")  # an alias django-stubs declares; the diff never names it
    return names
