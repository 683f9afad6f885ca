"""canvas-events handlers, and the Django management command with the same listing."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from canvas_core import events
from canvas_core.cli import _handlers, main

ROOT = Path(__file__).resolve().parents[2]

MODULE = """
    from canvas_core import events

    class Paid(events.Event):
        amount: int

    class Billing:
        pass

    @events.handle_event(Paid)
    def receipt(event: Paid) -> None: ...

    @events.handle_event(Paid, origin=Billing)
    def ledger(event: Paid) -> None: ...

    class Counter:
        def __call__(self, event: events.Event) -> None: ...

    events.handle_event(events.Event)(Counter())
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[str]:
    """A module on sys.path, named after the test, that registers three handlers when imported."""
    name = f"handlers_{request.node.name}".replace("[", "_").replace("]", "_")
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    yield name
    sys.modules.pop(name, None)


def test_lists_each_event_type_with_handlers_origin_and_source(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handlers", module]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    paid = lines.index(f"{module}.Paid")
    assert f"{module}.ledger" in lines[paid + 1]
    assert f"origin: {module}.Billing" in lines[paid + 1]
    assert lines[paid + 1].endswith(f"{module}.py:13")
    assert f"{module}.receipt" in lines[paid + 2]
    assert "origin: any" in lines[paid + 2]
    assert lines[paid + 2].endswith(f"{module}.py:10")
    assert f"{module}.Counter" in out  # a callable object is listed by its class, with the class's line
    assert f"{module}.py:16" in out
    assert "canvas_core.events.Event\n" in out  # the public name, not the private module defining it
    assert "3 handler(s) for 2 event type(s)." in out


def test_json_listing(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handlers", module, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    receipt = {
        "event": f"{module}.Paid",
        "handler": f"{module}.receipt",
        "origin": "any",
        "source": f"{module}.py:10",
        "runs": [],
    }
    assert receipt in rows


def test_nothing_registered_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert _handlers.render_rows([]).startswith("No handlers are registered.")


def test_unimportable_module_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["handlers", "no_such_module_anywhere"]) == 1
    err = capsys.readouterr().err
    assert "cannot import module 'no_such_module_anywhere'" in err


def test_module_that_raises_on_import_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "explodes_on_import.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert main(["handlers", "explodes_on_import"]) == 1
    assert "raised RuntimeError: boom" in capsys.readouterr().err


@pytest.mark.parametrize("command", [[], ["handlers"], ["graph"]])
def test_help_on_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    assert "usage: canvas-events" in capsys.readouterr().out


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["graph"])  # PATH is required
    assert exit_info.value.code == 2


def test_console_script_with_django_settings(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("canvas-events")
    if not script.exists():
        pytest.skip("the canvas-events console script is not installed in this environment")
    (tmp_path / "extra_handlers.py").write_text(textwrap.dedent(MODULE))
    result = subprocess.run(
        [str(script), "handlers", "--django", "tests.django_settings", "extra_handlers"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={"PATH": "", "PYTHONPATH": f"{ROOT}:{tmp_path}"},
    )
    assert result.returncode == 0, result.stderr
    assert "extra_handlers.Paid" in result.stdout


def test_wrong_django_settings_is_an_error(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.django_settings")
    assert main(["handlers", "--django", "no_such_settings"]) == 1
    assert "cannot import module 'no_such_settings'" in capsys.readouterr().err


def test_management_command_lists_the_same(capsys: pytest.CaptureFixture[str]) -> None:
    class Shipped(events.Event):
        parcel: str

    @events.handle_event(Shipped, origin="warehouse")
    def notify(event: Shipped) -> None: ...

    call_command("canvas_events")
    out = capsys.readouterr().out
    assert f"{Shipped.__module__}.{Shipped.__qualname__}" in out
    assert "origin: 'warehouse'" in out
    assert f"{notify.__qualname__}" in out


def test_management_command_reports_unimportable_modules() -> None:
    with pytest.raises(CommandError, match="cannot import module 'nope_not_here'"):
        call_command("canvas_events", "nope_not_here")
