"""The schema gate: a snapshot of what crosses processes, and whether a new version still reads old jobs.

:func:`snapshot` gives the JSON Schema of every event class a background
handler of this process is registered for (and the fields of the Django models
its records are), :func:`breaking_changes` lists what a new snapshot would fail
to read of jobs written under an old one: a field removed or renamed, a
required field added, a type narrowed, an enum value removed. An optional field
added or a type widened is compatible.
"""

from __future__ import annotations

from typing import Any

from canvas_core.events import Event

from ._serialization import _RecordsAsReferences, event_name, record_models

__all__ = ["SNAPSHOT_VERSION", "breaking_changes", "snapshot"]

SNAPSHOT_VERSION = 1

# Keywords that, added or tightened, accept fewer values.
_LOWER_BOUNDS = ("minLength", "minItems", "minimum", "exclusiveMinimum", "minProperties")
_UPPER_BOUNDS = ("maxLength", "maxItems", "maximum", "exclusiveMaximum", "maxProperties")


def snapshot() -> dict[str, Any]:
    """The schemas of every event class background handlers of this process receive, by :func:`event_name`."""
    from ._registrations import _build

    event_types: dict[str, type[Event]] = {}
    for _, registered_for in _build().values():
        event_types[event_name(registered_for)] = registered_for
    models: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for name, event_type in sorted(event_types.items()):
        schemas[name] = event_type.model_json_schema(schema_generator=_RecordsAsReferences)
        for model in record_models(event_type):
            models[model._meta.label_lower] = _model_schema(model)
    return {"version": SNAPSHOT_VERSION, "events": schemas, "models": dict(sorted(models.items()))}


def _model_schema(model: Any) -> dict[str, Any]:
    return {
        "pk": model._meta.pk.get_internal_type(),
        "fields": {
            field.name: {"type": field.get_internal_type(), "null": bool(field.null)}
            for field in model._meta.concrete_fields
        },
    }


def breaking_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """What in ``new`` cannot read jobs written under ``old``, one readable line each (empty: compatible)."""
    problems: list[str] = []
    old_events, new_events = old.get("events", {}), new.get("events", {})
    for name, old_schema in old_events.items():
        if name not in new_events:
            problems.append(f"{name}: no background handler receives it any more (jobs in flight would be rejected)")
            continue
        new_schema = new_events[name]
        _compare(name, old_schema, old_schema, new_schema, new_schema, problems)
    for label, old_model in old.get("models", {}).items():
        new_model = new.get("models", {}).get(label)
        if new_model is None:
            continue  # no event declares it any more: reported with those events
        if old_model["pk"] != new_model["pk"]:
            problems.append(f"model {label}: primary key type changed from {old_model['pk']} to {new_model['pk']}")
        for field, described in old_model["fields"].items():
            now = new_model["fields"].get(field)
            if now is None:
                problems.append(
                    f"model {label}: field {field!r} removed or renamed (deleted-record snapshots carry it)"
                )
            elif now["type"] != described["type"]:
                problems.append(
                    f"model {label}: field {field!r} changed type from {described['type']} to {now['type']}"
                )
            elif described["null"] and not now["null"]:
                problems.append(f"model {label}: field {field!r} no longer accepts null")
    return problems


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 50:
        reference = schema["$ref"].removeprefix("#/$defs/")
        schema = {**root.get("$defs", {}).get(reference, {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        seen += 1
    return schema


def _variants(schema: dict[str, Any], root: dict[str, Any]) -> list[dict[str, Any]]:
    schema = _resolve(schema, root)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return [variant for option in schema[keyword] for variant in _variants(option, root)]
    if isinstance(schema.get("type"), list):
        return [{**schema, "type": single} for single in schema["type"]]
    return [schema]


def _kind(schema: dict[str, Any]) -> str:
    if "const" in schema or "enum" in schema:
        return "enum"
    return str(schema.get("type", "any"))


def _compare(
    path: str,
    old: dict[str, Any],
    old_root: dict[str, Any],
    new: dict[str, Any],
    new_root: dict[str, Any],
    problems: list[str],
) -> None:
    """Append to ``problems`` each way ``new`` rejects a value ``old`` accepts."""
    new_variants = _variants(new, new_root)
    if any(_kind(variant) == "any" and len(variant) <= 2 for variant in new_variants):
        return  # ``Any`` (or an untyped field) accepts everything
    for old_variant in _variants(old, old_root):
        candidates = [variant for variant in new_variants if _accepts_kind(variant, old_variant)]
        if not candidates:
            problems.append(f"{path}: type narrowed, {_describe(old_variant)} is no longer accepted")
            continue
        # The closest variant (same kind) decides about constraints and contents.
        target = next((variant for variant in candidates if _kind(variant) == _kind(old_variant)), candidates[0])
        _compare_variant(path, old_variant, old_root, target, new_root, problems)


def _accepts_kind(new: dict[str, Any], old: dict[str, Any]) -> bool:
    old_kind, new_kind = _kind(old), _kind(new)
    if old_kind == "enum":
        values = old.get("enum", [old.get("const")])
        if new_kind == "enum":
            return True  # value by value below
        return all(
            _json_type(value) == new_kind or (_json_type(value), new_kind) == ("integer", "number") for value in values
        )
    if new_kind == "enum":
        return False
    return old_kind == new_kind or (old_kind == "integer" and new_kind == "number")


def _json_type(value: object) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return "object" if isinstance(value, dict) else "array"


def _describe(schema: dict[str, Any]) -> str:
    if "enum" in schema or "const" in schema:
        return f"the values {schema.get('enum', [schema.get('const')])!r}"
    return f"a {schema.get('type', 'value')}"


def _compare_variant(
    path: str,
    old: dict[str, Any],
    old_root: dict[str, Any],
    new: dict[str, Any],
    new_root: dict[str, Any],
    problems: list[str],
) -> None:
    if _kind(old) == "enum" and _kind(new) == "enum":
        accepted = new.get("enum", [new.get("const")])
        removed = [value for value in old.get("enum", [old.get("const")]) if value not in accepted]
        if removed:
            problems.append(f"{path}: enum value(s) {removed!r} removed")
        return
    for keyword in _LOWER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] > old[keyword]):
            problems.append(f"{path}: type narrowed, {keyword} is now {new[keyword]!r} (was {old.get(keyword)!r})")
    for keyword in _UPPER_BOUNDS:
        if keyword in new and (keyword not in old or new[keyword] < old[keyword]):
            problems.append(f"{path}: type narrowed, {keyword} is now {new[keyword]!r} (was {old.get(keyword)!r})")
    for keyword in ("pattern", "format", "multipleOf"):
        if keyword in new and new.get(keyword) != old.get(keyword):
            problems.append(f"{path}: type narrowed, {keyword} is now {new[keyword]!r} (was {old.get(keyword)!r})")
    if _kind(old) == "object":
        old_properties, new_properties = old.get("properties", {}), new.get("properties", {})
        for name, schema in old_properties.items():
            if name not in new_properties:
                problems.append(f"{path}.{name}: field removed or renamed")
            else:
                _compare(f"{path}.{name}", schema, old_root, new_properties[name], new_root, problems)
        old_required = set(old.get("required", ()))
        for name in sorted(set(new.get("required", ())) - old_required):
            what = "required field added" if name not in old_properties else "field became required"
            problems.append(f"{path}.{name}: {what}")
        if isinstance(old.get("additionalProperties"), dict) and isinstance(new.get("additionalProperties"), dict):
            _compare(
                f"{path}[*]", old["additionalProperties"], old_root, new["additionalProperties"], new_root, problems
            )
    elif _kind(old) == "array":
        if isinstance(old.get("items"), dict) and isinstance(new.get("items"), dict):
            _compare(f"{path}[]", old["items"], old_root, new["items"], new_root, problems)
        old_items, new_items = old.get("prefixItems", []), new.get("prefixItems", [])
        if len(new_items) > len(old_items):
            problems.append(f"{path}: tuple lengthened from {len(old_items)} to {len(new_items)} items")
        for index, (old_item, new_item) in enumerate(zip(old_items, new_items, strict=False)):
            _compare(f"{path}[{index}]", old_item, old_root, new_item, new_root, problems)
