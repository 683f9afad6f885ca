"""Running handlers in a random, seeded order, to flush out order dependencies."""

from __future__ import annotations

import random
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from canvas_core.events import Event, Instrument, instrumented
from canvas_core.events._registry import Handler

__all__ = ["ShuffledOrder", "new_seed", "shuffled_handlers"]


def new_seed() -> int:
    """A fresh random seed, small enough to read out of a report and type back."""
    return secrets.randbelow(10**9)


class ShuffledOrder(Instrument):
    """An instrument that runs the handlers of every emission in a new random order.

    The order is drawn from a :class:`random.Random` seeded with ``seed``, so
    the same seed and the same sequence of emissions give the same orders.
    :meth:`reseed` starts a new sequence (the pytest plugin reseeds with the
    seed and the test's id before each test, so one test reproduces alone).
    """

    def __init__(self, seed: int | str) -> None:
        self.seed = seed
        self._random = random.Random(seed)

    def reseed(self, *parts: object) -> None:
        """Restart the random sequence from the seed combined with ``parts``."""
        self._random.seed(":".join(str(part) for part in (self.seed, *parts)))

    def select_handlers(self, event: Event, origin: object, handlers: tuple[Handler, ...]) -> Sequence[Handler]:
        if len(handlers) < 2:
            return handlers
        return self._random.sample(handlers, len(handlers))


@contextmanager
def shuffled_handlers(seed: int | str | None = None) -> Iterator[ShuffledOrder]:
    """Run handlers in a random order on every emission in the ``with`` block.

    Without ``seed`` a new one is drawn; read it from the yielded
    instrument's ``seed`` to reproduce a failure.
    """
    instrument = ShuffledOrder(new_seed() if seed is None else seed)
    with instrumented(instrument):
        yield instrument
