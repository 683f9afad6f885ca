"""What a class statement says about an event's fields, read while mypy analyses it.

Whether a field has a default, its alias, ``init=False`` and the class's own
``__init__`` are written in the class body, which mypy does not keep in its
cache. This module reads them once, when the class is analysed, into
``TypeInfo.metadata`` (which mypy does cache), and reads them back when a call
is checked. The field types themselves are not copied: they are read off the
class's variables at check time, where mypy has them fully analysed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from mypy.errorcodes import MISC, ErrorCode
from mypy.nodes import (
    AssignmentStmt,
    CallExpr,
    ClassDef,
    Decorator,
    DictExpr,
    EllipsisExpr,
    Expression,
    FuncDef,
    MemberExpr,
    NameExpr,
    OverloadedFuncDef,
    RefExpr,
    StrExpr,
    TempNode,
    TypeInfo,
)
from mypy.plugin import ClassDefContext
from mypy.server.trigger import make_trigger

EVENT_FULLNAME: Final = "canvas_core.events._event.Event"
METADATA_KEY: Final = "canvas_core"
FIELD_SPECIFIERS: Final = frozenset({"pydantic.fields.Field", "pydantic.Field"})
# Keywords no field can be passed as, as canvas-core rejects them at class
# definition: emit_event's own parameter, and the name of its ``**fields``
# (which pyright binds such a keyword to). Each with the reason reported.
RESERVED_KEYWORDS: Final = {
    "origin": 'whose own parameter "origin" takes that keyword',
    "fields": 'whose "**fields" parameter is named so (pyright binds the keyword to it)',
}
EMIT_PARAMETERS: Final = tuple(RESERVED_KEYWORDS)

EVENT_FIELD: Final = ErrorCode(
    "event-field",
    "An event field that emit_event() cannot accept",
    "General",
    sub_code_of=MISC,
)


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One annotated field of an event class, as written in its class body."""

    name: str
    has_default: bool
    in_init: bool
    # Input names besides the field's own (alias, validation_alias, AliasChoices).
    aliases: tuple[str, ...] = ()
    # Input names whose value is a container the field is read from (AliasPath):
    # their type cannot be told from the field's.
    path_aliases: tuple[str, ...] = ()
    # An alias that is no literal (a variable, a call): any keyword may be meant.
    dynamic_alias: bool = False

    def serialize(self) -> dict[str, Any]:
        return {
            "default": self.has_default,
            "init": self.in_init,
            "aliases": list(self.aliases),
            "path_aliases": list(self.path_aliases),
            "dynamic_alias": self.dynamic_alias,
        }

    @classmethod
    def deserialize(cls, name: str, data: dict[str, Any]) -> FieldSpec:
        return cls(
            name,
            data["default"],
            data["init"],
            tuple(data["aliases"]),
            tuple(data["path_aliases"]),
            data["dynamic_alias"],
        )

    def keywords(self, config: ModelConfig) -> list[str]:
        """The keyword names pydantic accepts for this field's value under ``config``."""
        if not (self.aliases or self.path_aliases or self.dynamic_alias):
            return [self.name]
        names = list(self.aliases) if config.by_alias else []
        if config.by_name and self.name not in names:
            names.append(self.name)
        return names

    def path_keywords(self, config: ModelConfig) -> list[str]:
        """Keywords that carry a container holding the value (``AliasPath``)."""
        return list(self.path_aliases) if config.by_alias else []


@dataclass(frozen=True, slots=True)
class ModelConfig:
    """The validation settings that decide which keywords a field accepts."""

    by_alias: bool = True
    by_name: bool = False


@dataclass(frozen=True, slots=True)
class ClassSpec:
    """What one event class body declares: its own fields, ``__init__`` and config."""

    fields: dict[str, FieldSpec]
    custom_init: bool
    # Only the settings this class sets; the rest are inherited.
    config: dict[str, bool]

    def serialize(self) -> dict[str, Any]:
        return {
            "fields": {name: spec.serialize() for name, spec in self.fields.items()},
            "custom_init": self.custom_init,
            "config": self.config,
        }

    @classmethod
    def deserialize(cls, data: dict[str, Any]) -> ClassSpec:
        fields = {name: FieldSpec.deserialize(name, spec) for name, spec in data["fields"].items()}
        return cls(fields, data["custom_init"], data["config"])


def class_spec(info: TypeInfo) -> ClassSpec | None:
    """The spec stored for ``info``, if it is an event class the plugin has seen."""
    data = info.metadata.get(METADATA_KEY)
    return None if data is None else ClassSpec.deserialize(data)


def event_mro(info: TypeInfo) -> list[TypeInfo]:
    """``info``'s event classes, base first: the order in which fields are overridden."""
    return [base for base in reversed(info.mro) if base.has_base(EVENT_FULLNAME)]


def effective_config(info: TypeInfo) -> ModelConfig:
    settings: dict[str, bool] = {}
    for base in event_mro(info):
        spec = class_spec(base)
        if spec is not None:
            settings.update(spec.config)
    return ModelConfig(**settings)


def record_event_class(ctx: ClassDefContext) -> None:
    """Store what an event class body declares, report unpassable fields, register dependencies.

    Runs as mypy's MRO hook: early enough that no other plugin's class hook
    can shadow it, and late enough that the class's bases are known.
    """
    info = ctx.cls.info
    spec = _read_class_body(ctx)
    info.metadata[METADATA_KEY] = spec.serialize()

    config = effective_config(info)
    for field in spec.fields.values():
        for keyword in field.keywords(config) if field.in_init else []:
            if keyword in EMIT_PARAMETERS:
                ctx.api.fail(
                    f'Event field "{field.name}" can never be passed to emit_event(), '
                    f"{RESERVED_KEYWORDS[keyword]}; rename the field (or give it an alias)",
                    _statement_for(ctx.cls, field.name) or ctx.cls,
                    code=EVENT_FIELD,
                )
    _add_dependencies(ctx, info)


def _add_dependencies(ctx: ClassDefContext, info: TypeInfo) -> None:
    # Under the daemon, a call ``emit_event(E, ...)`` depends on ``<E>`` (its
    # first argument) but not on E's fields: mypy's own dependencies cover the
    # signature of emit_event, which never changes. Make a change to any field
    # of E, or to the generated ``__init__`` of E or a base (a field added or
    # removed), fire ``<E>``, so that every call site is checked again.
    class_trigger = make_trigger(info.fullname)
    for base in event_mro(info):
        ctx.api.add_plugin_dependency(make_trigger(f"{base.fullname}.__init__"), class_trigger)
        base_spec = class_spec(base)
        for name in base_spec.fields if base_spec is not None else ():
            ctx.api.add_plugin_dependency(make_trigger(f"{base.fullname}.{name}"), class_trigger)
            if base is not info:
                ctx.api.add_plugin_dependency(make_trigger(f"{info.fullname}.{name}"), class_trigger)


def _statement_for(cls: ClassDef, name: str) -> AssignmentStmt | None:
    for statement in cls.defs.body:
        if isinstance(statement, AssignmentStmt) and _assigned_name(statement) == name:
            return statement
    return None


def _read_class_body(ctx: ClassDefContext) -> ClassSpec:
    fields: dict[str, FieldSpec] = {}
    custom_init = False
    config: dict[str, bool] = _config_from_keywords(ctx.cls.keywords)
    for statement in ctx.cls.defs.body:
        if isinstance(statement, FuncDef | Decorator | OverloadedFuncDef) and statement.name == "__init__":
            custom_init = True
        if not isinstance(statement, AssignmentStmt):
            continue
        name = _assigned_name(statement)
        if name is None:
            continue
        if name == "model_config":
            config.update(_config_from_expression(statement.rvalue))
            continue
        # Annotated names only; private attributes (leading underscore) are no fields.
        # ClassVars are left out at check time, when mypy has resolved the annotation.
        if statement.unanalyzed_type is None or name.startswith("_"):
            continue
        fields[name] = _field_from_value(ctx, name, statement.rvalue)
    return ClassSpec(fields, custom_init, config)


def _assigned_name(statement: AssignmentStmt) -> str | None:
    if len(statement.lvalues) == 1 and isinstance(statement.lvalues[0], NameExpr):
        return statement.lvalues[0].name
    return None


def _field_from_value(ctx: ClassDefContext, name: str, value: Expression) -> FieldSpec:
    if isinstance(value, TempNode):  # `name: T` with no value
        return FieldSpec(name, has_default=False, in_init=True)
    if not (isinstance(value, CallExpr) and _is_field_specifier(ctx, value.callee)):
        return FieldSpec(name, has_default=True, in_init=True)

    arguments = {arg_name: arg for arg_name, arg in zip(value.arg_names, value.args, strict=True) if arg_name}
    positional = [arg for arg_name, arg in zip(value.arg_names, value.args, strict=True) if arg_name is None]
    default = arguments.get("default", positional[0] if positional else None)
    # `Field(...)` (Ellipsis) means required, as it does in pydantic.
    has_default = (default is not None and not isinstance(default, EllipsisExpr)) or "default_factory" in arguments
    in_init = not (isinstance(init := arguments.get("init"), NameExpr) and init.name == "False")

    # pydantic validates input under `validation_alias` when given, else under `alias`.
    alias_expression = arguments.get("validation_alias", arguments.get("alias"))
    if alias_expression is None or _is_none(alias_expression):
        return FieldSpec(name, has_default, in_init)
    aliases: list[str] = []
    path_aliases: list[str] = []
    choices = [alias_expression]
    if isinstance(alias_expression, CallExpr) and _callee_name(alias_expression) == "AliasChoices":
        choices = alias_expression.args
    for choice in choices:
        if isinstance(choice, StrExpr):
            aliases.append(choice.value)
        elif (
            isinstance(choice, CallExpr)
            and _callee_name(choice) == "AliasPath"
            and choice.args
            and isinstance(choice.args[0], StrExpr)
        ):
            path_aliases.append(choice.args[0].value)
        else:
            return FieldSpec(name, has_default, in_init, dynamic_alias=True)
    return FieldSpec(name, has_default, in_init, tuple(aliases), tuple(path_aliases))


def _callee_name(call: CallExpr) -> str | None:
    callee = call.callee
    return callee.name if isinstance(callee, NameExpr | MemberExpr) else None


def _is_field_specifier(ctx: ClassDefContext, callee: Expression) -> bool:
    if isinstance(callee, RefExpr) and callee.fullname in FIELD_SPECIFIERS:
        return True
    # The class body is not analysed yet when the hook runs: resolve the name.
    if isinstance(callee, NameExpr):
        symbol = ctx.api.lookup_qualified(callee.name, callee, suppress_errors=True)
    elif isinstance(callee, MemberExpr) and isinstance(callee.expr, NameExpr):
        symbol = ctx.api.lookup_qualified(f"{callee.expr.name}.{callee.name}", callee, suppress_errors=True)
    else:
        return False
    if symbol is not None and symbol.fullname is not None:
        return symbol.fullname in FIELD_SPECIFIERS
    return callee.name == "Field"  # not resolvable yet: trust the name


def _is_none(expression: Expression) -> bool:
    return isinstance(expression, NameExpr) and expression.name == "None"


_CONFIG_KEYS: Final = {
    "populate_by_name": "by_name",
    "validate_by_name": "by_name",
    "validate_by_alias": "by_alias",
}


def _config_from_keywords(keywords: dict[str, Expression]) -> dict[str, bool]:
    settings: dict[str, bool] = {}
    for key, value in keywords.items():
        if key in _CONFIG_KEYS and isinstance(value, NameExpr) and value.name in ("True", "False"):
            settings[_CONFIG_KEYS[key]] = value.name == "True"
    return settings


def _config_from_expression(value: Expression) -> dict[str, bool]:
    if isinstance(value, CallExpr):  # ConfigDict(populate_by_name=True)
        pairs = {name: arg for name, arg in zip(value.arg_names, value.args, strict=True) if name}
        return _config_from_keywords(pairs)
    if isinstance(value, DictExpr):  # {"populate_by_name": True}
        return _config_from_keywords(
            {key.value: item for key, item in value.items if isinstance(key, StrExpr)},
        )
    return {}
