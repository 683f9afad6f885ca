"""The signature mypy checks each ``emit_event(E, ...)`` call against.

``emit_event``'s declared signature (``Callable[P, E]``, ``**P.kwargs``) makes
mypy borrow the constructor of ``E``. That is precise for plain events, but an
event with its own ``__init__(self, **attrs)`` would accept anything, and the
constructor mypy synthesises does not know every way pydantic marks a default.
This hook replaces it, per call, with a signature built from the event's
annotated fields::

    emit_event(event_type, /, origin: object = None, *, message: str, retries: int = ...) -> E
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from mypy.expandtype import expand_type_by_instance
from mypy.maptype import map_instance_to_supertype
from mypy.nodes import (
    ARG_NAMED,
    ARG_NAMED_OPT,
    ARG_OPT,
    ARG_POS,
    ARG_STAR,
    ARG_STAR2,
    ArgKind,
    Decorator,
    FuncDef,
    SymbolTableNode,
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
    TypeVarLikeType,
    TypeVarType,
    get_proper_type,
)

from ._fields import EMIT_PARAMETERS, EVENT_FULLNAME, FieldSpec, class_spec, effective_config, event_mro


@dataclass(frozen=True, slots=True)
class _Target:
    """The event class a call emits, as seen from the call site."""

    instance: Instance  # the event type, with type arguments (possibly the call's own variables)
    returns: Type  # what emit_event returns: the instance, or the caller's type variable
    variables: list[TypeVarLikeType]  # to be solved from the fields (``emit_event(PostRecordUpdate, ...)``)


ANY_KEYWORD = "**"


@dataclass(frozen=True, slots=True)
class _Parameter:
    name: str
    type: Type
    required: bool


EMIT_FUNCTIONS: Final = frozenset(
    {"canvas_core.events._dispatch.emit_event", "canvas_core.events._dispatch.aemit_event"},
)


def is_emit_function(signature: ProperType | None) -> bool:
    """Whether ``signature`` is that of ``emit_event`` or ``aemit_event``, under whatever name it is called."""
    return isinstance(signature, CallableType) and (
        isinstance(signature.definition, FuncDef) and signature.definition.fullname in EMIT_FUNCTIONS
    )


def emit_event_signature_if_emit(
    ctx: FunctionSigContext, lookup: Callable[[str], SymbolTableNode | None]
) -> FunctionLike:
    """:func:`emit_event_signature` for a callee known by its type only (a local name bound to it)."""
    if is_emit_function(ctx.default_signature):
        return emit_event_signature(ctx, lookup)
    return ctx.default_signature


def emit_event_signature(ctx: FunctionSigContext, lookup: Callable[[str], SymbolTableNode | None]) -> FunctionLike:
    """Signature hook for ``emit_event`` and ``aemit_event``: the event's fields as keyword parameters.

    ``lookup`` finds a symbol by its full name (the plugin's own lookup: the
    checker's cannot see modules that the checked file does not import).
    """
    signature = ctx.default_signature
    if not ctx.args or len(ctx.args[0]) != 1:
        return signature  # no event type given: mypy reports the missing argument
    with ctx.api.msg.filter_errors():  # the argument is checked (and reported) again with the result
        argument_type = get_proper_type(ctx.api.get_expression_type(ctx.args[0][0]))
    target = _target(argument_type)
    if target is None:
        return signature
    if not target.instance.type.has_base(EVENT_FULLNAME):
        return _not_an_event(signature, lookup)
    parameters = _parameters(target)
    if parameters is None:  # the constructor mypy sees says it all; the errors read the same
        return signature.copy_modified(definition=None)

    # The catch-all for unreadable aliases goes last, as Python requires.
    parameters.sort(key=lambda parameter: parameter.name == ANY_KEYWORD)
    kinds: list[ArgKind] = [ARG_POS, ARG_OPT]
    kinds += [_kind(parameter) for parameter in parameters]
    return signature.copy_modified(
        # The event type itself is known to be right by now; AnyType keeps it
        # out of type inference, which is about the fields.
        arg_types=[AnyType(TypeOfAny.special_form), signature.arg_types[1]] + [p.type for p in parameters],
        arg_kinds=kinds,
        arg_names=[signature.arg_names[0], signature.arg_names[1]]
        + [None if p.name == ANY_KEYWORD else p.name for p in parameters],
        ret_type=_returning(signature, target.returns),
        variables=target.variables,
        # A variable bound to emit_event has its type without its name; the
        # errors name the function called, however it is spelled.
        name=signature.name or _definition_name(signature),
        # Without a definition, mypy adds no note pointing at emit_event's
        # source to each error: the mistake is in the call, against the event.
        definition=None,
    )


def _definition_name(signature: CallableType) -> str | None:
    return signature.definition.name if isinstance(signature.definition, FuncDef) else None


def _returning(signature: CallableType, event: Type) -> Type:
    """``event``, or a coroutine of it for ``aemit_event``."""
    declared = get_proper_type(signature.ret_type)
    if isinstance(declared, Instance) and declared.type.fullname == "typing.Coroutine" and declared.args:
        return declared.copy_modified(args=[*declared.args[:-1], event])
    return event


def _kind(parameter: _Parameter) -> ArgKind:
    if parameter.name == ANY_KEYWORD:
        return ARG_STAR2
    return ARG_NAMED if parameter.required else ARG_NAMED_OPT


def _target(argument: ProperType) -> _Target | None:
    """What ``argument`` emits, or ``None`` when that cannot be known statically (``Any``, unions)."""
    if isinstance(argument, FunctionLike) and argument.is_type_obj():
        item = argument.items[0] if isinstance(argument, Overloaded) else argument
        assert isinstance(item, CallableType)
        returned = get_proper_type(item.ret_type)
        if isinstance(returned, Instance):
            return _Target(returned, returned, list(item.variables))
        return None
    if isinstance(argument, TypeType):
        item_type = argument.item
        if isinstance(item_type, Instance):
            return _Target(item_type, item_type, [])
        if isinstance(item_type, TypeVarType):
            bound = get_proper_type(item_type.upper_bound)
            if isinstance(bound, Instance):
                return _Target(bound, item_type, [])
        return None
    if isinstance(argument, FunctionLike | Instance):
        # A function or a value where a class belongs: report it as a non-event.
        # (`type` itself and other metaclass instances stay unchecked.)
        if isinstance(argument, Instance) and argument.type.is_metaclass():
            return None
        fallback = argument.fallback if isinstance(argument, FunctionLike) else argument
        return _Target(fallback, fallback, [])
    return None


def _not_an_event(signature: CallableType, lookup: Callable[[str], SymbolTableNode | None]) -> CallableType:
    """A signature whose first parameter the argument fails, with mypy's usual arg-type message."""
    symbol = lookup(EVENT_FULLNAME)
    if symbol is None or not isinstance(symbol.node, TypeInfo):
        return signature
    anything = AnyType(TypeOfAny.from_error)
    return signature.copy_modified(
        arg_types=[TypeType(Instance(symbol.node, [])), signature.arg_types[1], anything, anything],
        arg_kinds=[ARG_POS, ARG_OPT, ARG_STAR, ARG_STAR2],
        arg_names=[signature.arg_names[0], signature.arg_names[1], None, None],
        ret_type=anything,
        variables=[],
        definition=None,
    )


def _parameters(target: _Target) -> list[_Parameter] | None:
    """The keyword parameters of an emission of ``target``; ``None`` to keep the default signature.

    A parameter named ``**`` stands for any further keyword (an alias the
    plugin cannot read).
    """
    info = target.instance.type
    config = effective_config(info)
    by_field: dict[str, tuple[FieldSpec, TypeInfo]] = {}  # a subclass redefining a field replaces its entry
    generators: dict[str, str] = {}
    generator = ""
    custom_init = None
    for base in event_mro(info):
        spec = class_spec(base)
        if spec is None:
            if base.fullname != EVENT_FULLNAME:
                return None  # a class the plugin did not see (analysed without it): don't guess
            continue
        if spec.custom_init:
            custom_init = base
        for field in spec.fields.values():
            by_field.pop(field.name, None)
            by_field[field.name] = (field, base)
        # Pydantic names each field (its own and inherited ones) with the alias
        # generator of every class from then on; one set to None keeps the names.
        generator = str(spec.config.get("alias_generator", generator))
        if generator:
            generators.update(dict.fromkeys(by_field, generator))

    parameters_by_field: dict[str, list[_Parameter]] = {}
    for field, base in by_field.values():
        symbol = base.names.get(field.name)
        if symbol is None or not isinstance(symbol.node, Var) or symbol.node.is_classvar:
            continue
        if not field.in_init or field.name in EMIT_PARAMETERS:
            continue
        field = field.named_by(generators.get(field.name, ""))
        field_type = _member_type(symbol.node.type, target.instance, base)
        keywords = field.keywords(config)
        path_keywords = field.path_keywords(config)
        # With two accepted names, either will do: neither alone is required.
        required = (
            not field.has_default
            and len(keywords) + len(path_keywords) == 1
            and not field.dynamic_alias
            and not config.opaque
        )
        parameters = [_Parameter(keyword, field_type, required) for keyword in keywords]
        parameters += [_Parameter(keyword, AnyType(TypeOfAny.special_form), required) for keyword in path_keywords]
        if field.dynamic_alias:
            parameters.append(_Parameter(ANY_KEYWORD, AnyType(TypeOfAny.special_form), required=False))
        parameters_by_field[field.name] = [p for p in parameters if p.name not in EMIT_PARAMETERS]
    if config.extra or config.opaque:  # extra="allow"/"ignore", or settings the plugin cannot read
        parameters_by_field[ANY_KEYWORD] = [_Parameter(ANY_KEYWORD, AnyType(TypeOfAny.special_form), required=False)]

    unique = {parameter.name: parameter for parameters in parameters_by_field.values() for parameter in parameters}
    if custom_init is not None:
        return _with_custom_init(target, custom_init, unique)
    return list(unique.values())


def _with_custom_init(target: _Target, owner: TypeInfo, fields: dict[str, _Parameter]) -> list[_Parameter] | None:
    """Parameters for an event whose own ``__init__(self, ..., **attrs)`` may fill any field.

    The fields stay checked by name and type but become optional. Keyword
    parameters that ``__init__`` declares itself are added as declared. An
    ``__init__`` without ``**attrs`` describes the call completely, so the
    default signature (which borrows it) stays.
    """
    node = owner.names["__init__"].node if "__init__" in owner.names else None
    init_type = None
    if isinstance(node, FuncDef):
        init_type = node.type
    elif isinstance(node, Decorator):
        init_type = node.func.type
    else:
        return None  # overloaded: let mypy pick among the overloads
    parameters = {name: _Parameter(name, p.type, required=False) for name, p in fields.items()}
    if init_type is None:  # unannotated: treated as (self, **attrs)
        return list(parameters.values())
    if not isinstance(init_type, CallableType) or ARG_STAR2 not in init_type.arg_kinds:
        return None
    declared_parameters = zip(init_type.arg_names, init_type.arg_kinds, init_type.arg_types, strict=True)
    for name, kind, declared in list(declared_parameters)[1:]:  # after self
        if name is None or kind in (ARG_STAR, ARG_STAR2) or name in EMIT_PARAMETERS:
            continue
        declared = _member_type(declared, target.instance, owner)
        parameters[name] = _Parameter(name, declared, required=kind in (ARG_POS, ARG_NAMED))
    return list(parameters.values())


def _member_type(declared: Type | None, instance: Instance, owner: TypeInfo) -> Type:
    """``declared`` (written in ``owner``) as seen on ``instance``: type parameters substituted."""
    if declared is None:
        return AnyType(TypeOfAny.unannotated)
    return expand_type_by_instance(declared, map_instance_to_supertype(instance, owner))
