"""Instructions the emitting thread spends on one background job, counted by callgrind (immune to the machine's load).

What ``test_background_benchmark.py::test_record_event_in_atomic_interleaved``
times, counted instead: ``book.save()`` inside ``atomic()`` whose
``PostRecordUpdate`` has one no-op synchronous handler (``sync``), or one
background handler whose job goes to the outbox (``outbox``) or is published
directly at the commit (``direct``). Each variant runs ``N`` saves (100 by
default) inside ``operator.call()``, which callgrind zeroes its counters
before and dumps them after; ``--separate-threads=yes`` keeps the relay
thread's work out of the emitting thread's counts. Needs PostgreSQL (the
test suite's variables) and a broker: Redis on 127.0.0.1, or the one
``CANVAS_BENCH_BROKER_URL`` names (``amqp://guest:guest@127.0.0.1:5672//``)::

    CANVAS_TEST_DATABASE=postgres CANVAS_TEST_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/bench \\
        valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file=/tmp/outbox.out \\
        --zero-before=_operator_call --dump-after=_operator_call \\
        .venv/bin/python -m tests.benchmarks.outbox_instructions sync,outbox,direct

``/tmp/outbox.out.<n>-01`` holds the emitting thread's count for the n-th
variant (``summary:`` line); what a way of enqueueing adds is its count
minus ``sync``'s. The database named must exist; its tables are migrated.
"""

from __future__ import annotations

import operator
import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django_settings")
django.setup()

from django.core.management import call_command  # noqa: E402  (after django.setup())
from django.db import transaction  # noqa: E402
from kombu import Queue  # noqa: E402

from canvas_core import background, events  # noqa: E402
from canvas_core.background.celery import CeleryEngine  # noqa: E402
from tests.background.celery_app import make_app  # noqa: E402
from tests.testapp.models import Author, Book  # noqa: E402

from .test_background_benchmark import on_book  # noqa: E402

SAVES = int(os.environ.get("N", "100"))
QUEUE = "canvas-outbox-instructions-unconsumed"  # nothing consumes it: only the emitter's side counts


def main(variants: list[str]) -> None:
    call_command("migrate", verbosity=0)
    app = make_app(os.environ.get("CANVAS_BENCH_BROKER_URL", "redis://127.0.0.1:6379/0"), QUEUE)
    engines = {"outbox": CeleryEngine(app), "direct": CeleryEngine(app, outbox=False)}
    book = Book.objects.create(title="Dune", author=Author.objects.create(name="Frank Herbert"))

    def saves() -> None:
        for i in range(SAVES):
            with transaction.atomic():
                book.title = f"Dune {i}"
                book.save()

    try:
        for variant in variants:
            events.remove_handler(on_book)
            background.use_engine(engines.get(variant, engines["direct"]))
            events.handle_event(events.PostRecordUpdate[Book], background=variant != "sync")(on_book)
            saves()  # warm-up, not counted
            engines["outbox"].relay().flush()
            operator.call(saves)
            engines["outbox"].relay().flush()
        print("ORDER", " ".join(variants))
    finally:
        with app.connection_for_write() as connection:
            queue = Queue(QUEUE)(connection.default_channel)
            queue.purge()
            queue.delete()


if __name__ == "__main__":
    main(sys.argv[1].split(",") if len(sys.argv) > 1 else ["sync", "outbox", "direct"])
