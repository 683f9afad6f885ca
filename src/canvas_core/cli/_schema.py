"""``canvas-events schema --write PATH`` / ``--check PATH``: the schema gate for events that cross processes.

``--write`` snapshots the JSON Schema of every event a background handler
receives (and the fields of the models its records are); ``--check`` compares
the current code with a snapshot and exits 1, listing each breaking change,
when jobs written under the snapshot could not be read any more. Run it in CI
before deploying; ``manage.py canvas_schema`` is the Django twin.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any, Protocol

__all__ = ["add_command", "add_schema_arguments", "schema_command"]


class Output(Protocol):
    def write(self, text: str, /) -> object: ...


def add_schema_arguments(parser: Any) -> None:
    """The options of the schema gate (shared with ``manage.py canvas_schema``)."""
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", metavar="PATH", help="write the snapshot of the current schemas to PATH")
    action.add_argument("--check", metavar="PATH", help="compare the current schemas with the snapshot at PATH")


def add_command(commands: Any) -> argparse.ArgumentParser:
    """Add ``schema`` to ``canvas-events``'s subparsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "schema",
        help="snapshot or check the schemas of the events background handlers receive",
        description=(
            "Write (--write) or check (--check) a snapshot of the JSON Schema of every event a background handler "
            "receives. --check exits 1 on a breaking change: a field removed or renamed, a required field added, "
            "a type narrowed, an enum value removed."
        ),
    )
    parser.add_argument("modules", nargs="*", metavar="MODULE", help="modules whose import registers handlers")
    parser.add_argument("--django", metavar="SETTINGS", help="Django settings module to set up first")
    add_schema_arguments(parser)
    return parser


def schema_command(*, write: str | None, check: str | None, out: Output) -> int:
    """Write or check a snapshot; return the exit status (1 on a breaking change or an unreadable snapshot)."""
    from canvas_core.background._schema import breaking_changes, snapshot

    current = snapshot()
    if write is not None:
        Path(write).write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        out.write(f"wrote the schemas of {len(current['events'])} event class(es) to {write}\n")
        return 0
    assert check is not None
    try:
        recorded = json.loads(Path(check).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        out.write(f"cannot read the snapshot {check}: {exc}\n")
        return 1
    problems = breaking_changes(recorded, current)
    if problems:
        out.write(f"{len(problems)} breaking change(s) against {check}:\n")
        for problem in problems:
            out.write(f"  - {problem}\n")
        out.write(
            "Workers of one version would not read jobs written by the other: make the change compatible, "
            "or drain the queues and dead letters before deploying, then --write a new snapshot.\n"
        )
        return 1
    out.write(f"compatible with {check}\n")
    return 0
