"""Validation errors without data: field locations kept, keys and inputs masked.

Pydantic's error locations mix the schema (field names, list positions, union
member labels, declared tags) with data (the keys of a ``dict`` field:
e-mail addresses, user ids). Some messages echo input too (the tag of a
discriminated union). :class:`EventValidationError` reaches logs and spans,
so it keeps what comes from the event's declaration and masks what comes
from the data, by walking the location alongside the event's core schema.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic_core import ErrorDetails

__all__ = ["MASK", "public_error", "public_location"]

MASK = "<key>"
"""Stands in an error location for a mapping key (data, never shown)."""

# Schema nodes that only wrap another schema under "schema".
_WRAPPERS = frozenset(
    {
        "default",
        "nullable",
        "model",
        "dataclass",
        "function-after",
        "function-before",
        "function-wrap",
        "with-info",
        "lax-or-strict",
        "json-or-python",
    }
)
_SEQUENCES = frozenset({"list", "set", "frozenset", "generator", "deque"})

# Error types whose message quotes the input; their replacement says the same without it.
_MESSAGES_WITHOUT_INPUT = {
    "union_tag_invalid": "the tag found using {discriminator} does not match any of the expected tags: {expected_tags}",
    "timezone_offset": "a timezone offset of {tz_expected} is required",
}


def public_location(schema: Mapping[str, Any], loc: Sequence[str | int]) -> str:
    """``loc`` as ``a.b.0``, with every part that comes from data replaced by :data:`MASK`."""
    parts, _ = _walk(schema, tuple(loc), {})
    return ".".join(parts)


def public_error(schema: Mapping[str, Any], error: ErrorDetails) -> ErrorDetails:
    """``error`` (from ``errors(include_input=False)``) with a location and message free of data."""
    public: dict[str, Any] = dict(error)
    loc = tuple(error["loc"])
    if error["type"] == "extra_forbidden" and loc:
        # The unknown keyword a caller passed (a typo, usually): a name, and the
        # one thing that makes the error actionable.
        public["loc"] = (*_walk(schema, loc[:-1], {})[0], str(loc[-1]))
    else:
        public["loc"] = tuple(_walk(schema, loc, {})[0])
    template = _MESSAGES_WITHOUT_INPUT.get(error["type"])
    if template is not None:
        ctx = error.get("ctx", {})
        public["msg"] = template.format_map(_Missing({k: v for k, v in ctx.items() if k != "tag"}))
        public.pop("ctx", None)
    return public  # type: ignore[return-value]


class _Missing(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _walk(
    node: Mapping[str, Any] | None, loc: tuple[str | int, ...], definitions: dict[str, Mapping[str, Any]]
) -> tuple[list[str], int]:
    """The rendered parts of ``loc`` below ``node``, and how many had to be masked."""
    if not loc:
        return [], 0
    node = _unwrap(node, definitions)
    part, rest = loc[0], loc[1:]
    kind = node.get("type") if node is not None else None

    if kind in ("model-fields", "typed-dict"):
        field = _field(node, part)  # type: ignore[arg-type]
        if field is not None:
            below, masked = _walk(field.get("schema"), rest, definitions)
            return [str(part), *below], masked
    elif kind == "dataclass-args":
        for field in node.get("fields", ()):  # type: ignore[union-attr]
            if part in (field.get("name"), field.get("validation_alias")):
                below, masked = _walk(field.get("schema"), rest, definitions)
                return [str(part), *below], masked
    elif kind == "dict":
        # (field, key, "[key]") is an error in the key itself; (field, key, ...) one in its value.
        if rest[:1] == ("[key]",):
            below, masked = _walk(node.get("keys_schema"), rest[1:], definitions)  # type: ignore[union-attr]
            return [MASK, "[key]", *below], masked + 1
        below, masked = _walk(node.get("values_schema"), rest, definitions)  # type: ignore[union-attr]
        return [MASK, *below], masked + 1
    elif kind in _SEQUENCES and isinstance(part, int):
        below, masked = _walk(node.get("items_schema"), rest, definitions)  # type: ignore[union-attr]
        return [str(part), *below], masked
    elif kind == "tuple" and isinstance(part, int):
        items = node.get("items_schema", [])  # type: ignore[union-attr]
        variadic = node.get("variadic_item_index")  # type: ignore[union-attr]
        item = items[min(part, variadic if variadic is not None else len(items) - 1)] if items else None
        below, masked = _walk(item, rest, definitions)
        return [str(part), *below], masked
    elif kind == "tagged-union":
        choices = node.get("choices", {})  # type: ignore[union-attr]
        if isinstance(part, str) and part in choices:  # a declared tag
            below, masked = _walk(choices[part], rest, definitions)
            return [part, *below], masked
    elif kind == "union":
        # The part names the member: a label pydantic derives from the declaration.
        best: tuple[list[str], int] | None = None
        for choice in node.get("choices", ()):  # type: ignore[union-attr]
            schema = choice[0] if isinstance(choice, tuple) else choice
            candidate = _walk(schema, rest, definitions)
            if best is None or candidate[1] < best[1]:
                best = candidate
        below, masked = best if best is not None else ([MASK] * len(rest), len(rest))
        return [str(part), *below], masked
    elif kind is None or kind in ("any", "is-instance", "custom-error", "chain", "call"):
        pass
    # Unknown ground: a position in a list is harmless; anything else may be data.
    rendered = str(part) if isinstance(part, int) and kind in _SEQUENCES else MASK
    below, masked = _walk(None, rest, definitions)
    return [rendered, *below], masked + 1


def _unwrap(node: Mapping[str, Any] | None, definitions: dict[str, Mapping[str, Any]]) -> Mapping[str, Any] | None:
    for _ in range(100):  # bounded, against reference cycles
        if node is None:
            return None
        kind = node.get("type")
        if kind == "definitions":
            for definition in node.get("definitions", ()):
                definitions[definition["ref"]] = definition
            node = node.get("schema")
        elif kind == "definition-ref":
            node = definitions.get(node.get("schema_ref", ""))
        elif kind in _WRAPPERS and "schema" in node:
            node = node["schema"]
        elif kind == "function-plain":
            return None
        else:
            if "ref" in node:
                definitions.setdefault(node["ref"], node)
            return node
    return None


def _field(node: Mapping[str, Any], part: str | int) -> Mapping[str, Any] | None:
    fields: Mapping[str, Mapping[str, Any]] = node.get("fields", {})
    if isinstance(part, str) and part in fields:
        return fields[part]
    for field in fields.values():
        alias = field.get("validation_alias")
        if part == alias or (isinstance(alias, list) and any(part == path[0] for path in alias if path)):
            return field
    return None
