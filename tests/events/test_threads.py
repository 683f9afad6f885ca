"""Emitting from many threads while others register and remove handlers."""

from __future__ import annotations

import threading
import time
from collections import Counter

from canvas_core import events


class Ping(events.Event):
    thread: int


def test_concurrent_emits_and_registrations_lose_nothing() -> None:
    emitters, registrars, emits_per_thread = 6, 3, 400
    stable_calls: Counter[int] = Counter()
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()

    @events.handle_event(Ping)
    def stable(event: Ping) -> None:
        with lock:
            stable_calls[event.thread] += 1

    def emitter(index: int) -> None:
        try:
            for _ in range(emits_per_thread):
                sent = events.emit_event(Ping, thread=index)
                assert sent.thread == index
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def registrar(index: int) -> None:
        try:
            deadline = time.monotonic() + 30  # bounded even if emitters hang
            while not done.is_set() and time.monotonic() < deadline:

                def transient(event: Ping) -> None:
                    pass

                events.handle_event(Ping, origin=None if index % 2 else ("origin", index))(transient)
                events.remove_handler(transient)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    emitter_threads = [threading.Thread(target=emitter, args=(i,)) for i in range(emitters)]
    registrar_threads = [threading.Thread(target=registrar, args=(i,)) for i in range(registrars)]
    for thread in registrar_threads + emitter_threads:
        thread.start()
    for thread in emitter_threads:
        thread.join(timeout=60)
    done.set()
    for thread in registrar_threads:
        thread.join(timeout=60)

    assert errors == []
    assert not any(thread.is_alive() for thread in emitter_threads + registrar_threads)
    assert stable_calls == Counter(dict.fromkeys(range(emitters), emits_per_thread))
    assert [r.handler for r in events.registrations()] == [stable]


def test_nesting_depth_is_per_thread() -> None:
    # Many threads inside handlers at once must not add up to the nesting limit.
    inside = threading.Barrier(events.MAX_NESTING_DEPTH + 1, timeout=30)
    failures: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(failures.append)

    @events.handle_event(Ping)
    def wait_for_all(event: Ping) -> None:
        inside.wait()

    threads = [
        threading.Thread(target=events.emit_event, args=(Ping,), kwargs={"thread": i})
        for i in range(events.MAX_NESTING_DEPTH + 1)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
