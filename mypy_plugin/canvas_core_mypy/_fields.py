"""What a class statement says about an event's fields, read while mypy analyses it.

Whether a field has a default, its alias, ``init=False`` and the class's own
``__init__`` are written in the class body, which mypy does not keep in its
cache. This module reads them once, when the class is analysed, into
``TypeInfo.metadata`` (which mypy does cache), and reads them back when a call
is checked. The field types themselves are not copied: they are read off the
class's variables at check time, where mypy has them fully analysed.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any, Final

from mypy.errorcodes import MISC, ErrorCode
from mypy.nodes import (
    ARG_STAR,
    ARG_STAR2,
    MDEF,
    AssignmentStmt,
    CallExpr,
    ClassDef,
    Decorator,
    DictExpr,
    EllipsisExpr,
    Expression,
    FuncDef,
    IntExpr,
    MemberExpr,
    NameExpr,
    OverloadedFuncDef,
    RefExpr,
    StrExpr,
    SymbolTableNode,
    TempNode,
    TypeInfo,
    Var,
)
from mypy.plugin import ClassDefContext
from mypy.server.trigger import make_trigger
from mypy.types import LiteralType

from ._aliases import GENERATORS

EVENT_FULLNAME: Final = "canvas_core.events._event.Event"
METADATA_KEY: Final = "canvas_core"
FINGERPRINT: Final = "__canvas_core_spec__"
FIELD_SPECIFIERS: Final = frozenset({"pydantic.fields.Field", "pydantic.Field"})
ALIAS_GENERATOR_CLASSES: Final = frozenset({"pydantic.aliases.AliasGenerator", "pydantic.AliasGenerator"})
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
    # Whether the model's alias_generator names the field: it has no alias of
    # its own, or one given with alias_priority=1.
    generator_applies: bool = True

    def serialize(self) -> dict[str, Any]:
        return {
            "default": self.has_default,
            "init": self.in_init,
            "aliases": list(self.aliases),
            "path_aliases": list(self.path_aliases),
            "dynamic_alias": self.dynamic_alias,
            "generator_applies": self.generator_applies,
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
            data["generator_applies"],
        )

    def named_by(self, generator: str) -> FieldSpec:
        """This field as an alias generator (a full name, ``UNKNOWN_GENERATOR`` or ``""`` for none) names it."""
        if not generator or not self.generator_applies:
            return self
        generate = GENERATORS.get(generator)
        if generate is None:  # a generator of the project's own: any name may be meant
            return replace(self, aliases=(), path_aliases=(), dynamic_alias=True)
        return replace(self, aliases=(generate(self.name),), path_aliases=(), dynamic_alias=False)

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
    """The validation settings that decide which keywords a call accepts."""

    by_alias: bool = True
    by_name: bool = False
    # extra="allow" or "ignore": pydantic takes any further keyword.
    extra: bool = False
    # The full name of the alias generator, UNKNOWN_GENERATOR, or "" for none.
    alias_generator: str = ""
    # A setting the plugin cannot read (a splat of an unknown mapping, a
    # computed value): any keyword may be meant, and none is required.
    opaque: bool = False


UNKNOWN_GENERATOR: Final = "?"
ConfigValue = bool | str


@dataclass(frozen=True, slots=True)
class ClassSpec:
    """What one event class body declares: its own fields, ``__init__`` and config."""

    fields: dict[str, FieldSpec]
    custom_init: bool
    # Only the settings this class sets (ModelConfig's names); the rest are inherited.
    config: dict[str, ConfigValue]

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
    settings: dict[str, ConfigValue] = {}
    for base in event_mro(info):
        spec = class_spec(base)
        if spec is not None:
            settings.update(spec.config)
    return ModelConfig(**settings)  # type: ignore[arg-type]  # each key's value has its field's type


def record_event_class(ctx: ClassDefContext) -> None:
    """Store what an event class body declares, report unpassable fields, register dependencies.

    Runs as mypy's MRO hook: early enough that no other plugin's class hook
    can shadow it, and late enough that the class's bases are known.
    """
    info = ctx.cls.info
    spec = _read_class_body(ctx)
    info.metadata[METADATA_KEY] = spec.serialize()
    _add_fingerprint(ctx, info, spec)

    config = effective_config(info)
    for field in spec.fields.values():
        for keyword in field.named_by(config.alias_generator).keywords(config) if field.in_init else []:
            if keyword in EMIT_PARAMETERS:
                ctx.api.fail(
                    f'Event field "{field.name}" can never be passed to emit_event(), '
                    f"{RESERVED_KEYWORDS[keyword]}; rename the field (or give it an alias)",
                    _statement_for(ctx.cls, field.name) or ctx.cls,
                    code=EVENT_FIELD,
                )
    _add_dependencies(ctx, info)


def _add_fingerprint(ctx: ClassDefContext, info: TypeInfo, spec: ClassSpec) -> None:
    """Give the class a member whose type changes whenever what the plugin read from its body does.

    The daemon re-checks what depends on a name only when that name's type
    changes; metadata is not compared. A setting such as
    ``populate_by_name=False`` changes no type at all, so this member carries
    it: a hash of the class's spec, as a literal string type.
    """
    digest = hashlib.blake2b(json.dumps(spec.serialize(), sort_keys=True).encode(), digest_size=8).hexdigest()
    fingerprint = Var(FINGERPRINT, LiteralType(digest, ctx.api.named_type("builtins.str")))
    fingerprint.info = info
    fingerprint._fullname = f"{info.fullname}.{FINGERPRINT}"
    fingerprint.is_classvar = True
    info.names[FINGERPRINT] = SymbolTableNode(MDEF, fingerprint, plugin_generated=True)


def _add_dependencies(ctx: ClassDefContext, info: TypeInfo) -> None:
    # Under the daemon, a call ``emit_event(E, ...)`` depends on ``<E>`` (its
    # first argument) but not on E's fields: mypy's own dependencies cover the
    # signature of emit_event, which never changes. Make a change to any field
    # of E, or to the generated ``__init__`` of E or a base (a field added or
    # removed), fire ``<E>``, so that every call site is checked again.
    class_trigger = make_trigger(info.fullname)
    for base in event_mro(info):
        ctx.api.add_plugin_dependency(make_trigger(f"{base.fullname}.__init__"), class_trigger)
        # Settings and defaults, here or in a base class (see _add_fingerprint).
        ctx.api.add_plugin_dependency(make_trigger(f"{base.fullname}.{FINGERPRINT}"), class_trigger)
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
    config = _config_from_keywords(ctx, ctx.cls.keywords)
    for statement in ctx.cls.defs.body:
        if isinstance(statement, FuncDef | Decorator | OverloadedFuncDef) and statement.name == "__init__":
            custom_init = True
        if not isinstance(statement, AssignmentStmt):
            continue
        name = _assigned_name(statement)
        if name is None:
            continue
        if name == "model_config":
            config.update(_config_from_expression(ctx, statement.rvalue))
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

    # pydantic validates input under `validation_alias` when given, else under
    # `alias`; `validation_alias=None` is the same as not giving it.
    alias_expression = arguments.get("validation_alias")
    if alias_expression is None or _is_none(alias_expression):
        alias_expression = arguments.get("alias")
    if alias_expression is None or _is_none(alias_expression):
        return FieldSpec(name, has_default, in_init)
    # An alias of its own outranks the alias generator, unless alias_priority=1 says otherwise.
    priority = arguments.get("alias_priority")
    generator_applies = isinstance(priority, IntExpr) and priority.value <= 1
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
            return FieldSpec(name, has_default, in_init, dynamic_alias=True, generator_applies=generator_applies)
    return FieldSpec(name, has_default, in_init, tuple(aliases), tuple(path_aliases), False, generator_applies)


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


_BOOLEAN_KEYS: Final = {
    "populate_by_name": "by_name",
    "validate_by_name": "by_name",
    "validate_by_alias": "by_alias",
}
_GENERATOR_KEY: Final = "alias_generator"
_EXTRA_KEY: Final = "extra"
_OPAQUE: Final[dict[str, ConfigValue]] = {"opaque": True}
# How deep ConfigDict(**BASE) splats are followed: BASE may splat another.
_MAX_SPLATS: Final = 8


def _config_from_keywords(ctx: ClassDefContext, keywords: dict[str, Expression]) -> dict[str, ConfigValue]:
    """The settings that ``key=value`` pairs (a class statement's, ``ConfigDict(...)``'s) make."""
    settings: dict[str, ConfigValue] = {}
    for key, value in keywords.items():
        if key in _BOOLEAN_KEYS:
            if isinstance(value, NameExpr) and value.name in ("True", "False"):
                settings[_BOOLEAN_KEYS[key]] = value.name == "True"
            else:
                settings.update(_OPAQUE)
        elif key == _EXTRA_KEY:
            if isinstance(value, StrExpr) and value.value in ("allow", "ignore", "forbid"):
                settings["extra"] = value.value != "forbid"
            elif not _is_none(value):
                settings.update(_OPAQUE)
        elif key == _GENERATOR_KEY:
            settings["alias_generator"] = _generator(ctx, value)
    return settings


def _generator(ctx: ClassDefContext, value: Expression) -> str:
    """The full name of the function that generates validation aliases, ``UNKNOWN_GENERATOR``, or ``""``."""
    if _is_none(value):
        return ""
    if isinstance(value, CallExpr) and _resolved_name(ctx, value.callee) in ALIAS_GENERATOR_CLASSES:
        # AliasGenerator(alias=..., validation_alias=..., serialization_alias=...):
        # input is validated under validation_alias's name, else under alias's.
        arguments = {name: arg for name, arg in zip(value.arg_names, value.args, strict=True) if name}
        if any(kind in (ARG_STAR, ARG_STAR2) for kind in value.arg_kinds):
            return UNKNOWN_GENERATOR
        if value.args and value.arg_names[0] is None:
            arguments.setdefault("alias", value.args[0])
        validation = arguments.get("validation_alias")
        if validation is None or _is_none(validation):
            validation = arguments.get("alias")
        return "" if validation is None else _generator(ctx, validation)
    name = _resolved_name(ctx, value)
    return name if name in GENERATORS else UNKNOWN_GENERATOR


def _resolved_name(ctx: ClassDefContext, expression: Expression) -> str | None:
    """The full name a (dotted) name refers to; the class body is not analysed yet when the hook runs."""
    if isinstance(expression, RefExpr) and expression.fullname:
        return expression.fullname
    parts: list[str] = []
    while isinstance(expression, MemberExpr):
        parts.append(expression.name)
        expression = expression.expr
    if not isinstance(expression, NameExpr):
        return None
    parts.append(expression.name)
    symbol = ctx.api.lookup_qualified(".".join(reversed(parts)), expression, suppress_errors=True)
    return symbol.fullname if symbol is not None else None


def _config_from_expression(ctx: ClassDefContext, value: Expression, depth: int = 0) -> dict[str, ConfigValue]:
    """The settings a ``model_config`` value makes: ``ConfigDict(...)``, a dict display, or a module constant."""
    if depth > _MAX_SPLATS:
        return dict(_OPAQUE)
    if isinstance(value, CallExpr):  # ConfigDict(populate_by_name=True, **BASE)
        settings: dict[str, ConfigValue] = {}
        for name, kind, argument in zip(value.arg_names, value.arg_kinds, value.args, strict=True):
            if kind == ARG_STAR2:
                settings.update(_config_from_expression(ctx, argument, depth + 1))
            elif name is not None:
                settings.update(_config_from_keywords(ctx, {name: argument}))
            else:
                settings.update(_OPAQUE)
        return settings
    if isinstance(value, DictExpr):  # {"populate_by_name": True, **BASE}
        settings = {}
        for key, item in value.items:
            if key is None:
                settings.update(_config_from_expression(ctx, item, depth + 1))
            elif isinstance(key, StrExpr):
                settings.update(_config_from_keywords(ctx, {key.value: item}))
            else:
                settings.update(_OPAQUE)
        return settings
    if isinstance(value, NameExpr):
        constant = _module_constant(ctx, value.name)
        if constant is not None:
            return _config_from_expression(ctx, constant, depth + 1)
    return dict(_OPAQUE)


def _module_constant(ctx: ClassDefContext, name: str) -> Expression | None:
    """The value of ``name`` when the class's own module assigns it exactly once, at its top level.

    A constant of another module is not read: mypy may load that module from
    its cache, without its statements, and the result must not depend on that.
    """
    module = ctx.api.modules.get(ctx.api.cur_mod_id)
    if module is None:
        return None
    values = [
        statement.rvalue
        for statement in module.defs
        if isinstance(statement, AssignmentStmt) and _assigned_name(statement) == name
    ]
    return values[0] if len(values) == 1 else None
