"""The schema gate: which changes to an event class break jobs written by the other version."""

from __future__ import annotations

import enum
import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal

import pytest
from django.core.management import call_command
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, Field, create_model

from canvas_core import events
from canvas_core.background._schema import breaking_changes
from canvas_core.background._serialization import _RecordsAsReferences


def snapshot_of(event_class: type[BaseModel]) -> dict[str, Any]:
    schema = event_class.model_json_schema(schema_generator=_RecordsAsReferences)
    return {"version": 1, "events": {"shop:Ordered": schema}, "models": {}}


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Item(BaseModel):
    sku: str
    quantity: int


def event(**fields: Any) -> type[BaseModel]:
    return create_model("Ordered", **fields)


BASE: dict[str, Any] = {"number": (int, ...), "note": (str, ""), "items": (list[Item], [])}

COMPATIBLE: dict[str, dict[str, Any]] = {
    "unchanged": {},
    "optional field added": {"coupon": (str | None, None)},
    "integer widened to number": {"number": (float, ...)},
    "widened to a union": {"number": (int | str, ...)},
    "made nullable": {"note": (str | None, "")},
    "required field made optional": {"number": (int, 0)},
    "constraint loosened": {"note": (Annotated[str, Field(max_length=100)], "")},
}
COMPATIBLE_FROM: dict[str, dict[str, Any]] = {
    "constraint loosened": {"note": (Annotated[str, Field(max_length=10)], "")}
}

ITEM_WITHOUT_QUANTITY: Any = create_model("Item", sku=(str, ...))

BREAKING: dict[str, tuple[dict[str, Any], str]] = {
    "required field added": ({"customer": (str, ...)}, "Ordered.customer: required field added"),
    "field removed": ({"note": None}, "Ordered.note: field removed or renamed"),
    "number narrowed to integer": ({"number": (int, ...)}, "type narrowed, a number is no longer accepted"),
    "union narrowed": ({"number": (int, ...)}, "type narrowed, a string is no longer accepted"),
    "null no longer accepted": ({"note": (str, "")}, "type narrowed, a null is no longer accepted"),
    "constraint added": ({"note": (Annotated[str, Field(pattern="^[a-z]*$")], "")}, "pattern is now"),
    "nested field removed": ({"items": (list[ITEM_WITHOUT_QUANTITY], [])}, "quantity: field removed"),
}

OLD_FOR: dict[str, dict[str, Any]] = {  # the version the breaking change starts from, where it is not BASE
    "number narrowed to integer": {"number": (float, ...)},
    "union narrowed": {"number": (int | str, ...)},
    "null no longer accepted": {"note": (str | None, "")},
}


def _apply(changes: dict[str, Any], start: dict[str, Any] | None = None) -> type[BaseModel]:
    fields = {**BASE, **(start or {})}
    for name, definition in changes.items():
        if definition is None:
            del fields[name]
        else:
            fields[name] = definition
    return event(**fields)


@pytest.mark.parametrize("change", list(COMPATIBLE))
def test_compatible_changes_pass(change: str) -> None:
    start = COMPATIBLE_FROM.get(change)
    assert breaking_changes(snapshot_of(_apply({}, start)), snapshot_of(_apply(COMPATIBLE[change], start))) == []


@pytest.mark.parametrize("change", list(BREAKING))
def test_breaking_changes_are_reported_readably(change: str) -> None:
    changes, expected = BREAKING[change]
    old = _apply(OLD_FOR.get(change, {}))
    problems = breaking_changes(snapshot_of(old), snapshot_of(_apply(changes, OLD_FOR.get(change))))
    assert any(expected in problem for problem in problems), problems


def test_enum_values_added_pass_and_removed_break() -> None:
    old = event(color=(Literal["red", "green"], ...))
    assert breaking_changes(snapshot_of(old), snapshot_of(event(color=(Literal["red", "green", "blue"], ...)))) == []
    [problem] = breaking_changes(snapshot_of(old), snapshot_of(event(color=(Literal["red"], ...))))
    assert problem == "shop:Ordered.color: enum value(s) ['green'] removed"
    assert breaking_changes(snapshot_of(event(color=(Color, ...))), snapshot_of(event(color=(Color, ...)))) == []


def test_an_event_no_handler_receives_any_more_breaks() -> None:
    [problem] = breaking_changes(snapshot_of(event(**BASE)), {"version": 1, "events": {}, "models": {}})
    assert "no background handler receives it any more" in problem


SCALARS = st.sampled_from([int, float, str, bool])
FIELDS = st.dictionaries(st.from_regex(r"[a-z]{1,8}", fullmatch=True), st.tuples(SCALARS, st.booleans()), max_size=6)


def _model(fields: dict[str, tuple[type, bool]]) -> type[BaseModel]:
    return event(**{name: (kind, ... if required else None) for name, (kind, required) in fields.items()})


@given(FIELDS)
def test_a_schema_is_compatible_with_itself(fields: dict[str, tuple[type, bool]]) -> None:
    assert breaking_changes(snapshot_of(_model(fields)), snapshot_of(_model(fields))) == []


@given(FIELDS, st.from_regex(r"[A-Z]{1,8}", fullmatch=True), SCALARS)
def test_adding_an_optional_field_is_compatible(fields: dict[str, tuple[type, bool]], name: str, kind: type) -> None:
    grown = {**fields, name: (kind, False)}
    assert breaking_changes(snapshot_of(_model(fields)), snapshot_of(_model(grown))) == []


@given(FIELDS.filter(bool), st.data())
def test_removing_any_field_breaks(fields: dict[str, tuple[type, bool]], data: st.DataObject) -> None:
    removed = data.draw(st.sampled_from(sorted(fields)))
    shrunk = {name: spec for name, spec in fields.items() if name != removed}
    problems = breaking_changes(snapshot_of(_model(fields)), snapshot_of(_model(shrunk)))
    assert f"shop:Ordered.{removed}: field removed or renamed" in problems


VERSION_1 = """
from canvas_core import background, events


class Ordered(events.Event):
    number: int
    note: str = ""


@events.handle_event(Ordered, background=True)
def ship(event: Ordered) -> None:
    pass
"""


def _canvas_events(cwd: Path, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "canvas_core.events", *arguments], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_the_command_writes_a_snapshot_and_checks_against_it(tmp_path: Path) -> None:
    (tmp_path / "shop_events.py").write_text(textwrap.dedent(VERSION_1))
    written = _canvas_events(tmp_path, "schema", "shop_events", "--write", "schema.json")
    assert written.returncode == 0, written.stderr
    assert "shop_events:Ordered" in json.loads((tmp_path / "schema.json").read_text())["events"]

    (tmp_path / "shop_events.py").write_text(
        VERSION_1.replace('note: str = ""', 'note: str = ""\n    coupon: str = ""')
    )
    compatible = _canvas_events(tmp_path, "schema", "shop_events", "--check", "schema.json")
    assert (compatible.returncode, compatible.stdout) == (0, "compatible with schema.json\n")

    (tmp_path / "shop_events.py").write_text(VERSION_1.replace('note: str = ""', "note: str\n    customer: str"))
    breaking = _canvas_events(tmp_path, "schema", "shop_events", "--check", "schema.json")
    assert breaking.returncode == 1
    assert "2 breaking change(s) against schema.json:" in breaking.stdout
    assert "  - shop_events:Ordered.customer: required field added\n" in breaking.stdout
    assert "  - shop_events:Ordered.note: field became required\n" in breaking.stdout


class Restocked(events.Event):
    sku: str


def restock(event: Restocked) -> None:
    pass


def test_the_management_command_is_the_twin(tmp_path: Path) -> None:
    events.handle_event(Restocked, background=True)(restock)
    snapshot = tmp_path / "schema.json"

    out = io.StringIO()
    call_command("canvas_schema", "--write", str(snapshot), stdout=out)
    assert "tests.background.test_schema:Restocked" in json.loads(snapshot.read_text())["events"]

    call_command("canvas_schema", "--check", str(snapshot), stdout=out)
    assert out.getvalue().endswith(f"compatible with {snapshot}\n")
