"""canvas-events graph: the static scan and its three drawings."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from importlib import resources
from pathlib import Path

import pytest

from canvas_core.cli import _graph, main

ROOT = Path(__file__).resolve().parents[2]
VIZ_SHA256 = "c9e0b310f9883910e01c66054b48b7ff4be3d8695141116635e72b0af152692e"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def shop(tmp_path: Path) -> Path:
    """A small package using every spelling the scan must understand."""
    write(
        tmp_path,
        {
            "shop/__init__.py": """
                from .events import Note
                from canvas_core.events import emit_event

                def announce() -> None:
                    emit_event(Note, text="hello")
            """,
            "shop/events.py": """
                from canvas_core import events
                from canvas_core.events import Event

                class OrderEvent(events.Event):
                    order_id: int

                class OrderPaid(OrderEvent):
                    amount: int

                class Unrelated:
                    pass

                class NotAnEvent(Unrelated):
                    pass

                class Note(Event):
                    text: str
            """,
            "shop/billing.py": """
                import canvas_core.events as ev
                from .events import OrderPaid

                class Note:  # not an event; makes "Note" ambiguous by short name
                    pass

                class Billing:
                    def charge(self) -> None:
                        ev.emit_event(OrderPaid, origin=Billing, order_id=1, amount=5)

                ev.emit_event(OrderPaid, order_id=2, amount=1)
            """,
            "shop/handlers.py": """
                from canvas_core.events import handle_event, HandlerFailed, PostRecordUpdate
                from shop import events as shop_events

                @handle_event(shop_events.OrderEvent)
                def audit(event): ...

                @handle_event(shop_events.OrderPaid, origin="billing")
                def receipt(event): ...

                @handle_event(HandlerFailed)
                def report(event): ...

                def settings_changed(event): ...

                handle_event(PostRecordUpdate[dict])(settings_changed)
            """,
            "shop/broken.py": "def oops(:\n",
        },
    )
    return tmp_path / "shop"


def test_scan_finds_events_transitively_and_through_every_import_form(shop: Path) -> None:
    event_map = _graph.scan([shop])
    events = {event.name: event.bases for event in event_map.events}
    assert events == {
        "shop.events.OrderEvent": ("canvas_core.events.Event",),
        "shop.events.OrderPaid": ("shop.events.OrderEvent",),
        "shop.events.Note": ("canvas_core.events.Event",),
    }


def test_scan_records_emit_sites_with_emitter_and_origin(shop: Path) -> None:
    emits = {(e.event, e.origin, e.emitter, e.line) for e in _graph.scan([shop]).emits}
    assert emits == {
        ("shop.events.OrderPaid", "Billing", "shop.billing.Billing.charge", 10),
        ("shop.events.OrderPaid", None, "shop.billing.<module>", 12),
        ("shop.events.Note", None, "shop.announce", 6),  # a relative import in a package's __init__
        ("canvas_core.events.PostRecordUpdate[dict]", None, "Django ORM", 0),  # a record event: the ORM emits it
    }


def test_scan_records_decorator_and_call_registrations(shop: Path) -> None:
    handlers = {(h.event, h.origin, h.handler) for h in _graph.scan([shop]).handlers}
    assert handlers == {
        ("shop.events.OrderEvent", None, "shop.handlers.audit"),
        ("shop.events.OrderPaid", "'billing'", "shop.handlers.receipt"),
        ("canvas_core.events.HandlerFailed", None, "shop.handlers.report"),
        ("canvas_core.events.PostRecordUpdate[dict]", None, "shop.handlers.settings_changed"),
    }


def test_unparsable_files_are_skipped_and_reported(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(shop)]) == 0
    assert "skipped" in capsys.readouterr().err
    assert any("broken.py" in item for item in _graph.scan([shop]).skipped)


def test_mermaid_draws_emitters_events_handlers_and_subclassing(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(shop), "--format", "mermaid"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("flowchart LR\n")
    assert '"line 10, origin=Billing"' in text
    assert '-.->|"subclass of"|' in text
    assert "origin='billing'" in text
    assert "PostRecordUpdate[dict]" in text
    assert "any handler raises" in text  # HandlerFailed is emitted by canvas-core itself
    assert '-.->|"parametrized"|' in text  # PostRecordUpdate[dict] -> PostRecordUpdate


def test_the_frameworks_own_events_keep_their_public_names() -> None:
    event_map = _graph.scan([ROOT / "src"])
    events = {event.name: event.bases for event in event_map.events}
    assert events["canvas_core.events.HandlerFailed"] == ("canvas_core.events.Event",)
    assert events["canvas_core.events.PostRecordUpdate"] == ("canvas_core.events.RecordEvent",)


def test_mermaid_escapes_label_text() -> None:
    assert _graph._mermaid_text('a "b" <c> & #d') == "a #quot;b#quot; #lt;c#gt; #amp; #35;d"


def test_dot_output_is_valid_graphviz(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(shop), "-f", "dot"]) == 0
    dot = capsys.readouterr().out
    assert dot.startswith("digraph events {")
    node = shutil.which("node")
    if node is None:
        pytest.skip("Node.js is not installed: cannot run the vendored Graphviz to validate the DOT")
    svg = _render_with_viz(node, dot)
    assert svg.startswith("<?xml")
    assert "receipt" in svg


def _render_with_viz(node: str, dot: str) -> str:
    viz = resources.files("canvas_core.cli").joinpath("_vendor", "viz-global.js")
    script = (
        "const Viz = require(process.argv[1]); const fs = require('fs');"
        "Viz.instance().then(v => process.stdout.write(v.renderString(fs.readFileSync(0, 'utf8'), {format: 'svg'})))"
    )
    result = subprocess.run([node, "-e", script, str(viz)], input=dot, capture_output=True, text=True, check=True)
    assert not result.stderr, result.stderr
    return result.stdout


def test_html_is_self_contained(shop: Path, tmp_path: Path) -> None:
    out = tmp_path / "map.html"
    assert main(["graph", str(shop), "-f", "html", "-o", str(out)]) == 0
    page = out.read_text()
    assert "Viz.instance()" in page
    assert "digraph events" in page
    assert "<script src" not in page
    assert "<link" not in page
    assert page.count("</script>") == 2  # nothing in the embedded data closes a script early
    assert "shop.handlers.receipt" in page  # the table lists the map without JavaScript too


def test_vendored_renderer_is_the_published_file() -> None:
    data = resources.files("canvas_core.cli").joinpath("_vendor", "viz-global.js").read_bytes()
    assert hashlib.sha256(data).hexdigest() == VIZ_SHA256


def test_json_output(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(shop / "events.py"), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {event["name"] for event in data["events"]} == {
        "shop.events.OrderEvent",
        "shop.events.OrderPaid",
        "shop.events.Note",
    }


def test_the_projects_own_examples() -> None:
    event_map = _graph.scan([ROOT / "examples"])
    handlers = {h.handler.rsplit(".", 1)[-1]: h for h in event_map.handlers}
    assert handlers["billing_only"].event == "demo.core.InvoicePaid"
    assert handlers["billing_only"].origin == "Billing"
    assert handlers["report"].event == "canvas_core.events.HandlerFailed"
    emitted = {(e.event, e.emitter) for e in event_map.emits}
    assert ("demo.core.SignupFormSubmitted", "demo.core.signup_demo") in emitted
    assert "demo.core.BeforeMessageSend" in {event.name for event in event_map.events}


def test_missing_path_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(tmp_path / "nowhere")]) == 1
    assert "cannot read" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() == 0 if hasattr(os, "geteuid") else True, reason="root reads every file")
def test_unreadable_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    secret = tmp_path / "secret.py"
    secret.write_text("x = 1\n")
    secret.chmod(0)
    assert main(["graph", str(secret)]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_unwritable_output_is_an_error(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", str(shop), "-o", str(shop / "missing-dir" / "map.html")]) == 1
    assert "error" in capsys.readouterr().err


def test_console_entry_point_and_module_form() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "canvas_core.events", "graph", "--help"], capture_output=True, text=True, check=True
    )
    assert "--format" in result.stdout


def test_file_that_vanished_or_dangles_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ok.py").write_text("x = 1\n")
    (tmp_path / "gone.py").symlink_to(tmp_path / "missing-target.py")
    assert main(["graph", str(tmp_path)]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_module_form_exit_status_on_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "canvas_core.events", "graph", str(tmp_path / "nowhere")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("canvas-events graph: error: cannot read")
