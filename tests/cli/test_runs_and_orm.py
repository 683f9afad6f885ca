"""The event map tells how handlers run, agrees with the running process on where they are, and shows the ORM."""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from canvas_core.cli import _graph, main

ROOT = Path(__file__).resolve().parents[2]

MODULE = """
    from canvas_core import events
    from canvas_core.django import after_commit
    from tests.testapp.models import Book


    class Paid(events.Event):
        amount: int


    @events.handle_event(Paid, background=True)
    def send_receipt(event: Paid) -> None: ...


    @events.handle_event(Paid)
    async def notify(event: Paid) -> None: ...


    @events.handle_event(events.PostRecordCreate, origin=Book)
    @after_commit
    def book_created(event: events.PostRecordCreate[Book]) -> None: ...


    def plain(event: Paid) -> None: ...


    events.handle_event(Paid)(plain)
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    name = f"runs_{request.node.name}".replace("[", "_").replace("]", "_")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.syspath_prepend(str(ROOT))  # tests.testapp
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def test_listing_and_graph_agree_on_lines_and_on_how_handlers_run(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["handlers", module, "--json"]) == 0
    listed = {row["handler"]: (row["source"], row["runs"]) for row in json.loads(capsys.readouterr().out)}
    drawn = {h.handler: (f"{h.file}:{h.line}", list(h.runs)) for h in _graph.scan([f"{module}.py"]).handlers}
    assert drawn == {name: listed[name] for name in drawn}
    assert drawn == {
        f"{module}.send_receipt": (f"{module}.py:11", ["background"]),
        f"{module}.notify": (f"{module}.py:15", ["async"]),
        f"{module}.book_created": (f"{module}.py:19", ["after_commit"]),
        f"{module}.plain": (f"{module}.py:24", []),
    }


def test_the_text_listing_marks_how_handlers_run(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handlers", module]) == 0
    out = capsys.readouterr().out
    assert f"{module}.send_receipt [background]" in out
    assert f"{module}.notify [async]" in out
    assert f"{module}.book_created [after_commit]" in out


@pytest.mark.parametrize("output_format", ["mermaid", "dot", "html"])
def test_drawings_mark_how_handlers_run_and_show_the_orm(
    module: str, output_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", f"{module}.py", "--format", output_format]) == 0
    text = capsys.readouterr().out
    for way in ("[background]", "[async]", "[after_commit]"):
        assert way in text
    assert "Django ORM" in text
    assert "writes of Book" in text


def test_the_table_names_the_orm_as_the_emitter_of_record_events(
    module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", f"{module}.py", "--format", "html"]) == 0
    page = capsys.readouterr().out
    row = next(line for line in page.splitlines() if "<code>canvas_core.events.PostRecordCreate</code>" in line)
    assert "Django ORM (writes of Book)" in row
    assert "&mdash;" not in row


def test_json_lists_the_orm_emit_and_the_ways_handlers_run(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", f"{module}.py", "--format", "json"]) == 0
    event_map = json.loads(capsys.readouterr().out)
    assert {"event": "canvas_core.events.PostRecordCreate", "origin": "Book", "emitter": "Django ORM"}.items() <= next(
        emit for emit in event_map["emits"] if emit["emitter"] == "Django ORM"
    ).items()
    assert {tuple(h["runs"]) for h in event_map["handlers"]} == {("background",), ("async",), ("after_commit",), ()}


def test_the_librarys_own_source_has_no_event_held_in_a_variable() -> None:
    """``handle_event(event_type, ...)`` inside a function registers whatever it is given: nothing to draw."""
    event_map = _graph.scan([ROOT / "src"])
    assert [name for name in event_map.event_names() if not name.startswith("canvas_core.")] == []


def test_a_module_level_event_in_a_variable_is_still_shown_as_written(tmp_path: Path) -> None:
    source = tmp_path / "dynamic.py"
    source.write_text(
        "from canvas_core import events\n"
        "def register(kind, handler):\n"
        "    events.handle_event(kind)(handler)\n"
        "    local = kind\n"
        "    events.emit_event(local)\n"
        "EVENT = make_event()\n"
        "events.emit_event(EVENT)\n"
    )
    event_map = _graph.scan([source])
    assert event_map.handlers == []
    assert [emit.event for emit in event_map.emits] == ["EVENT"]
