"""``canvas-events relay`` and ``canvas-events dead-letters``: the Django outbox, and dead letters.

Both set up the Django project given with ``--django SETTINGS`` (or the
``DJANGO_SETTINGS_MODULE`` environment variable); their ``manage.py`` twins
are ``canvas_relay`` and ``canvas_dead_letters``. Without Django,
``dead-letters --app MODULE`` imports the module that configures the Celery
engine (and registers the handlers) and works on that engine's ledger.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Protocol

from . import _handlers

if TYPE_CHECKING:
    from canvas_core.background.ledger import Ledger

__all__ = ["COMMANDS", "add_commands", "dead_letters_command", "relay_command", "run"]

COMMANDS = ("relay", "dead-letters")


class Output(Protocol):
    """Where the commands write: standard output, or a management command's ``self.stdout``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> object: ...


class CommandFailed(Exception):
    """A background command cannot do its work; the message says why and what to do."""


def add_commands(commands: Any) -> None:
    """Add the subcommands to ``canvas-events``'s subparsers."""
    relay = commands.add_parser(
        "relay",
        help="publish outbox jobs that were committed but never reached the broker",
        description=(
            "Publish the background jobs a crash or a broker outage left in the outbox. Run it continuously in "
            "production next to the workers; several relays may run at once."
        ),
    )
    add_django_argument(relay)
    add_relay_arguments(relay)

    letters = commands.add_parser(
        "dead-letters",
        help="list, replay or discard background jobs no worker could complete",
        description="List, replay (re-validate against today's classes and enqueue again) or discard dead letters.",
    )
    add_django_argument(letters)
    letters.add_argument(
        "--app",
        metavar="MODULE",
        action="append",
        default=[],
        help="without Django: the module that configures the CeleryEngine with a ledger and registers the "
        "background handlers (repeatable)",
    )
    add_dead_letter_arguments(letters)


def add_django_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--django",
        metavar="SETTINGS",
        default=os.environ.get("DJANGO_SETTINGS_MODULE"),
        help="Django settings module of the project (default: $DJANGO_SETTINGS_MODULE)",
    )


def add_relay_arguments(parser: Any) -> None:
    """The options of the relay (shared with ``manage.py canvas_relay``)."""
    parser.add_argument("--once", action="store_true", help="publish what is pending, then exit")
    parser.add_argument(
        "--older-than",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="only jobs committed at least this long ago (default 10): younger ones are being published by the "
        "process that committed them",
    )
    parser.add_argument(
        "--interval", type=float, default=2.0, metavar="SECONDS", help="pause between rounds (default 2)"
    )


def add_dead_letter_arguments(parser: Any) -> None:
    """The actions on dead letters (shared with ``manage.py canvas_dead_letters``)."""
    parser.add_argument("action", choices=("list", "replay", "discard"), nargs="?", default="list")
    parser.add_argument("ids", nargs="*", metavar="ID", help="dead letter ids (for replay and discard)")
    parser.add_argument("--all", action="store_true", help="replay or discard every dead letter")
    parser.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    """Run ``relay`` or ``dead-letters`` from ``canvas-events``; return the exit status."""
    try:
        ledger = None
        if args.command == "dead-letters" and args.app:
            _handlers.import_modules(args.app)
            ledger = _engine_ledger(", ".join(args.app))
        elif not args.django:
            needed = "give the Django project with --django SETTINGS (or set DJANGO_SETTINGS_MODULE)"
            if args.command == "dead-letters":
                needed += "; without Django, the module that configures the engine with --app MODULE"
            raise CommandFailed(needed)
        else:
            _handlers.setup_django(args.django)
        if args.command == "relay":
            relay_command(once=args.once, older_than=args.older_than, interval=args.interval, out=sys.stdout)
            return 0
        return dead_letters_command(
            args.action, args.ids, every=args.all, as_json=args.json, out=sys.stdout, ledger=ledger
        )
    except (CommandFailed, _handlers.ImportFailed) as exc:
        print(f"canvas-events {args.command}: error: {exc}", file=sys.stderr)
        return 1


def _celery_engine() -> Any:
    from canvas_core.background import current_engine
    from canvas_core.background.celery import CeleryEngine

    engine = current_engine()
    if not isinstance(engine, CeleryEngine):
        raise CommandFailed(
            "the relay publishes to the broker, and this project runs background handlers in-process: set "
            "CANVAS_BACKGROUND_ENGINE to your Celery app, e.g. 'mysite.celery:app'"
        )
    return engine


def _engine_ledger(modules: str) -> Ledger:
    from canvas_core.background import current_engine

    ledger: Ledger | None = getattr(current_engine(), "ledger", None)
    if ledger is None:
        raise CommandFailed(
            f"the background engine {modules} configured keeps no dead letters: give it a ledger, e.g. "
            "background.configure(CeleryEngine(app, ledger=RedisLedger('redis://...')))"
        )
    return ledger


def relay_command(*, once: bool, older_than: float, interval: float, out: Output) -> None:
    """Publish pending outbox jobs; with ``once``, one pass, else until interrupted."""
    from canvas_core.background import _outbox

    engine = _celery_engine()
    while True:
        published = _outbox.relay_pending(engine.publish_ids, older_than=older_than)
        if published or once:
            out.write(f"published {published} background job(s)\n")
            out.flush()
        if once:
            return
        try:
            time.sleep(interval)
        except KeyboardInterrupt:
            return


def dead_letters_command(
    action: str, ids: list[str], *, every: bool, as_json: bool, out: Output, ledger: Ledger | None = None
) -> int:
    """List, replay or discard the dead letters of ``ledger`` (the Django tables by default).

    Return the exit status: 1 when some could not be replayed.
    """
    from canvas_core.background import current_engine

    if ledger is None:
        from canvas_core.background import _outbox

        ledger = _outbox.DjangoLedger(_outbox.job_database())
    if action == "list":
        letters = ledger.dead_letters()
        rows = [
            {
                "id": str(letter.id),
                "job_id": letter.job_id,
                "created_at": letter.created_at.isoformat(),
                "handler": letter.handler,
                "event_type": letter.event_type,
                "deliveries": letter.deliveries,
                "replayable": letter.replayable,
                "reason": letter.reason,
            }
            for letter in letters
        ]
        if as_json:
            out.write(json.dumps(rows, indent=2) + "\n")
        elif not rows:
            out.write("no dead letters\n")
        else:
            for row in rows:
                out.write(
                    f"{row['id']}  {row['created_at']}  {row['handler'] or '(unknown handler)'}  "
                    f"{row['event_type'] or '(unknown event)'}\n    {row['reason']}\n"
                )
        return 0
    if not ids and not every:
        raise CommandFailed(f"dead-letters {action} needs dead letter ids, or --all")
    selected = None if every else ids
    if action == "discard":
        out.write(f"discarded {ledger.discard(selected)} dead letter(s)\n")
        return 0
    outcomes = ledger.replay(selected, current_engine())
    if as_json:
        out.write(json.dumps([outcome.__dict__ for outcome in outcomes], indent=2) + "\n")
    else:
        for outcome in outcomes:
            if outcome.error is None:
                out.write(f"{outcome.letter_id}: replayed as job {outcome.job_id}\n")
            else:
                out.write(f"{outcome.letter_id}: not replayed: {outcome.error}\n")
    return 1 if any(outcome.error is not None for outcome in outcomes) else 0
