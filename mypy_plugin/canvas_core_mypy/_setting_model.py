"""``Setting = config.get_setting_model()`` as a type alias of the active Setting model.

At run time the assignment binds a class chosen by Django settings; to mypy it
is a variable, which cannot annotate anything (``PostRecordUpdate[Setting]``
would be an error). The plugin turns that module-level assignment into an
alias of the model class the project configured, so the name works both as a
value (``Setting.objects``) and as a type.
"""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path
from typing import Final

from mypy.nodes import GDEF, SymbolTableNode, TypeAlias, TypeInfo
from mypy.plugin import DynamicClassDefContext
from mypy.types import AnyType, Instance, Type, TypeOfAny

GET_SETTING_MODEL_FULLNAME: Final = "canvas_core.config.get_setting_model"
DEFAULT_SETTING_MODEL: Final = "canvas_core.models.Setting"
CONFIG_SECTION: Final = "canvas_core_mypy"


def read_setting_model(config_file: str | None) -> str:
    """The model class named by ``setting_model`` in the mypy config file, else canvas-core's own.

    ``[tool.canvas_core_mypy] setting_model = "myapp.models.Setting"`` in
    ``pyproject.toml``, or ``setting_model = ...`` in a ``[canvas_core_mypy]``
    section of ``mypy.ini``/``setup.cfg``: the dotted path of the class that
    ``CANVAS_SETTING_MODEL`` names.
    """
    if not config_file:
        return DEFAULT_SETTING_MODEL
    path = Path(config_file)
    try:
        if path.suffix == ".toml":
            table = tomllib.loads(path.read_text()).get("tool", {}).get(CONFIG_SECTION, {})
            value = table.get("setting_model")
        else:
            parser = configparser.ConfigParser()
            parser.read(path)
            value = parser.get(CONFIG_SECTION, "setting_model", fallback=None)
    except (OSError, tomllib.TOMLDecodeError, configparser.Error):
        return DEFAULT_SETTING_MODEL
    return value if isinstance(value, str) and value else DEFAULT_SETTING_MODEL


def alias_setting_model(ctx: DynamicClassDefContext, setting_model: str) -> None:
    """Define ``ctx.name`` as an alias of the configured Setting model class."""
    symbol = ctx.api.lookup_fully_qualified_or_none(setting_model)
    target = symbol.node if symbol is not None else None
    alias_target: Type
    if not isinstance(target, TypeInfo):
        if not ctx.api.final_iteration:
            ctx.api.defer()  # the model's module may not be analysed yet
            return
        ctx.api.fail(
            f'get_setting_model(): cannot find the Setting model class "{setting_model}"; set '
            f"setting_model in the [tool.{CONFIG_SECTION}] section of the mypy configuration",
            ctx.call,
        )
        alias_target = AnyType(TypeOfAny.from_error)
    else:
        alias_target = Instance(target, [])
    fullname = ctx.api.qualified_name(ctx.name)
    try:  # mypy >= 1.16 records the alias's module
        alias = TypeAlias(
            alias_target, fullname, fullname.rpartition(".")[0], line=ctx.call.line, column=ctx.call.column
        )
    except TypeError:
        alias = TypeAlias(alias_target, fullname, line=ctx.call.line, column=ctx.call.column)  # type: ignore[call-arg]
    ctx.api.add_symbol_table_node(ctx.name, SymbolTableNode(GDEF, alias, plugin_generated=True))
