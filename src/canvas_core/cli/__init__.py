"""The ``canvas-events`` command (also ``python -m canvas_core.events``).

* ``canvas-events handlers [MODULE ...] [--django SETTINGS]``: import the modules
  (or set up Django) and list every event type with its handlers.
* ``canvas-events graph PATH ... [--format mermaid|dot|html|json] [-o FILE]``:
  read source code without importing it and draw who emits what, from where,
  and who handles it.

Nothing here imports Django unless ``--django`` is given.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from . import _background, _graph, _handlers, _schema

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="canvas-events",
        description="Inspect canvas-core events: who handles them, and who emits them from where.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    handlers = commands.add_parser(
        "handlers",
        help="list every event type with its registered handlers",
        description=(
            "Import the given modules (or set up a Django project) and list every event type with its "
            "handlers: qualified name, origin and source file:line. The current directory is on the "
            "import path, as with `python -m`."
        ),
    )
    handlers.add_argument("modules", nargs="*", metavar="MODULE", help="modules whose import registers handlers")
    handlers.add_argument(
        "--django",
        metavar="SETTINGS",
        help="Django settings module to set up first (installed apps register their handlers)",
    )
    handlers.add_argument("--json", action="store_true", help="print a JSON list instead of text")

    graph = commands.add_parser(
        "graph",
        help="draw the event map from source code, without importing it",
        description=(
            "Scan Python files and directories for event classes, emit_event calls and handle_event "
            "registrations, and draw the event map: emitters -> events -> handlers, with dashed arrows "
            "from an event to its base class (whose handlers receive it too). Nothing is imported."
        ),
    )
    graph.add_argument("paths", nargs="+", metavar="PATH", help="Python files or directories (searched recursively)")
    graph.add_argument(
        "-f",
        "--format",
        choices=_graph.FORMATS,
        default="mermaid",
        help="mermaid (default), dot (Graphviz), html (a page that draws the map offline) or json",
    )
    graph.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of standard output")
    _background.add_commands(commands)
    _schema.add_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 error, 2 usage error)."""
    args = _parser().parse_args(argv)
    if args.command in _background.COMMANDS:
        return _background.run(args)
    try:
        if args.command == "schema":
            if args.django:
                _handlers.setup_django(args.django)
            _handlers.import_modules(args.modules)
            return _schema.schema_command(write=args.write, check=args.check, out=sys.stdout)
        if args.command == "handlers":
            if args.django:
                _handlers.setup_django(args.django)
            _handlers.import_modules(args.modules)
            sys.stdout.write(_handlers.render_rows(_handlers.handler_rows(), as_json=args.json))
        else:
            event_map = _graph.scan(args.paths)
            for skipped in event_map.skipped:
                print(f"canvas-events graph: skipped {skipped}", file=sys.stderr)
            text = _graph.render(event_map, args.format)
            if args.output:
                Path(args.output).write_text(text, encoding="utf-8")
            else:
                sys.stdout.write(text)
    except (_handlers.ImportFailed, _graph.ScanError, OSError) as exc:
        print(f"canvas-events {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0
