"""Where workers keep count of deliveries, finished jobs and dead letters.

A :class:`~canvas_core.background.celery.CeleryEngine` needs a store that
survives its worker processes and that every worker shares, for three things a
broker alone does not give alike on Redis and RabbitMQ:

* **counting deliveries**, so that a job whose delivery keeps killing its
  worker process (``SIGKILL``, out of memory, ``os._exit``) is dead-lettered
  instead of being delivered without end;
* **recording finished jobs**, so that a redelivered job whose handler already
  succeeded does not run again;
* **keeping dead letters**, for ``canvas-events dead-letters`` to list, replay
  or discard.

With Django and ``canvas_core`` installed, the ``canvas_core`` tables are that
store, and nothing needs configuring. Without Django, give the engine a
:class:`RedisLedger`::

    engine = CeleryEngine(app, ledger=RedisLedger("redis://127.0.0.1:6379/1"))
    background.configure(engine)

Any object with the methods of :class:`Ledger` works too.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from . import _signing
from ._serialization import Job, JobRejected, RecordNotFound, describe_error

if TYPE_CHECKING:
    import redis

__all__ = ["Delivery", "Ledger", "RedisLedger", "Replayed", "StoredDeadLetter"]


@dataclass(frozen=True)
class Delivery:
    """What the ledger knows about one delivery of a job."""

    finished: bool
    """The job already finished: this is a redelivery, not to be run."""
    lost: int
    """Earlier deliveries that never ended: each killed its worker process (or the machine went down)."""


@dataclass(frozen=True)
class Replayed:
    """The outcome of replaying one dead letter."""

    letter_id: str
    job_id: str | None
    """The new job's id, or ``None`` when it was not replayed."""
    error: str | None
    """Why it was not replayed (it stays a dead letter)."""


@dataclass(frozen=True)
class StoredDeadLetter:
    """A dead letter as a ledger lists it."""

    id: str
    job_id: str
    handler: str
    event_type: str
    reason: str
    """Why the job was dead-lettered (no field values)."""
    deliveries: int
    created_at: datetime
    replayable: bool
    """Whether the job came from a trusted source and was kept, so that ``replay`` can enqueue it again."""


class Ledger(Protocol):
    """What a worker needs from a shared store; see the module's documentation."""

    def begin(self, jobs: Sequence[Job]) -> dict[str, Delivery]:
        """Count a delivery of each job; say which finished already and how many earlier deliveries were lost."""

    def attempt_ended(self, job_ids: Iterable[str]) -> None:
        """Record that a run of each job ended (it failed, or was handed on) without killing the worker."""

    def finish(self, job_ids: Sequence[str]) -> None:
        """Record that the jobs finished: a redelivery of them will not run."""

    def dead_letter(self, job: Job | None, *, job_id: str, reason: str, deliveries: int = 0) -> str:
        """Keep a job no worker can complete (``None``: it came from an untrusted message); return the letter's id."""

    def dead_letters(self) -> Sequence[StoredDeadLetter]:
        """Every dead letter, oldest first."""

    def discard(self, ids: Sequence[str] | None) -> int:
        """Delete the given dead letters (all for ``None``); return how many were deleted."""

    def replay(self, ids: Sequence[str] | None, engine: Any) -> list[Replayed]:
        """Re-validate dead letters (all for ``None``) against today's classes; enqueue on ``engine`` each that fits."""


# Every key has the ``{ledger}`` hash tag, so that one script may touch the
# keys of several jobs on Redis Cluster too (they are in one slot).
_BEGIN = """
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('HEXISTS', key, 'finished') == 1 then
    out[i] = {1, 0, 0}
  else
    local deliveries = redis.call('HINCRBY', key, 'deliveries', 1)
    local attempts = tonumber(redis.call('HGET', key, 'attempts') or '0')
    redis.call('EXPIRE', key, ARGV[1])
    out[i] = {0, deliveries, attempts}
  end
end
return out
"""


class RedisLedger:
    """A :class:`Ledger` in Redis, for workers without Django.

    ``url``: the Redis server (it may be the broker's, on another database
    number). ``prefix``: the start of every key. ``keep``: seconds a job's
    delivery count and "finished" mark are kept after its last delivery (a
    week by default; they only need to outlive the broker's redeliveries).
    Dead letters are kept until replayed or discarded.

    A dead letter keeps its job signed, or sealed when the event has secret
    fields, exactly as a message would carry it: Redis never holds a secret in
    clear, and ``replay`` trusts a stored job no more than a message (an
    altered one is refused).
    """

    def __init__(
        self, url: str, *, prefix: str = "canvas-core", keep: float = 7 * 86400, client: redis.Redis | None = None
    ) -> None:
        if keep < 1:
            raise ValueError("RedisLedger keep must be at least one second")
        if client is None:
            import redis

            client = redis.Redis.from_url(url, decode_responses=True)
        self.url = url
        self.prefix = prefix
        self.keep = int(keep)
        self._redis = client
        self._begin = client.register_script(_BEGIN)

    def __repr__(self) -> str:
        return f"RedisLedger(prefix={self.prefix!r})"  # not the URL: it may hold a password

    def _job_key(self, job_id: str) -> str:
        return f"{self.prefix}:{{ledger}}:job:{job_id[:64]}"

    @property
    def _letters_key(self) -> str:
        return f"{self.prefix}:{{ledger}}:dead-letters"

    def begin(self, jobs: Sequence[Job]) -> dict[str, Delivery]:
        if not jobs:
            return {}
        rows = self._begin(keys=[self._job_key(job.id) for job in jobs], args=[self.keep])
        return {
            job.id: Delivery(finished=bool(finished), lost=max(int(deliveries) - int(attempts) - 1, 0))
            for job, (finished, deliveries, attempts) in zip(jobs, rows, strict=True)
        }

    def attempt_ended(self, job_ids: Iterable[str]) -> None:
        pipeline = self._redis.pipeline(transaction=False)
        for job_id in job_ids:
            pipeline.hincrby(self._job_key(job_id), "attempts", 1)
        pipeline.execute()

    def finish(self, job_ids: Sequence[str]) -> None:
        if not job_ids:
            return
        pipeline = self._redis.pipeline(transaction=False)
        for job_id in job_ids:
            key = self._job_key(job_id)
            pipeline.hset(key, "finished", 1)
            pipeline.hincrby(key, "attempts", 1)
            pipeline.expire(key, self.keep)
        pipeline.execute()

    def dead_letter(self, job: Job | None, *, job_id: str, reason: str, deliveries: int = 0) -> str:
        letter_id = str(uuid.uuid4())
        message: dict[str, str] | None = None
        if job is not None:
            text = _signing.canonical(job.to_payload())
            message = {"sealed": _signing.seal(text)} if job.sealed else {"job": text, "sig": _signing.sign(text)}
        letter = {
            "id": letter_id,
            "job_id": job_id[:64],
            "handler": job.handler[:255] if job is not None else "",
            "event_type": job.event_type[:500] if job is not None else "",
            "reason": reason,
            "deliveries": deliveries,
            "created_at": datetime.now(UTC).isoformat(),
            "message": message,
        }
        pipeline = self._redis.pipeline(transaction=True)
        pipeline.hset(self._letters_key, letter_id, json.dumps(letter))
        if job_id:
            pipeline.hset(self._job_key(job_id), "finished", 1)
            pipeline.expire(self._job_key(job_id), self.keep)
        pipeline.execute()
        return letter_id

    def _stored(self) -> list[dict[str, Any]]:
        letters = []
        for raw in self._redis.hvals(self._letters_key):
            try:
                letter = json.loads(raw)
                StoredDeadLetter(**_listed(letter))
            except (ValueError, TypeError, KeyError):
                continue  # not written by a ledger: not listed, never replayed
            letters.append(letter)
        return sorted(letters, key=lambda letter: letter["created_at"])

    def dead_letters(self) -> list[StoredDeadLetter]:
        return [StoredDeadLetter(**_listed(letter)) for letter in self._stored()]

    def discard(self, ids: Sequence[str] | None) -> int:
        if ids is None:
            ids = [str(letter_id) for letter_id in self._redis.hkeys(self._letters_key)]
        return int(self._redis.hdel(self._letters_key, *ids)) if ids else 0

    def replay(self, ids: Sequence[str] | None, engine: Any) -> list[Replayed]:
        """Enqueue each selected dead letter that today's classes accept as a new job, then delete the letter.

        The job is enqueued before its letter is deleted: a replay that stops
        between the two leaves the letter, to be replayed again (at least
        once, as every delivery).
        """
        from ._registrations import rebuild

        wanted = None if ids is None else set(ids)
        outcomes: list[Replayed] = []
        for letter in self._stored():
            if wanted is not None and letter["id"] not in wanted:
                continue
            try:
                job = _trusted_job(letter.get("message"))
                rebuild(job)
            except (JobRejected, RecordNotFound) as exc:
                outcomes.append(Replayed(letter["id"], None, describe_error(exc)))
                continue
            fresh = replace(job, id=str(uuid.uuid4()))
            engine.enqueue(fresh)
            self._redis.hdel(self._letters_key, letter["id"])
            outcomes.append(Replayed(letter["id"], fresh.id, None))
        return outcomes


def _listed(letter: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(letter["id"]),
        "job_id": str(letter["job_id"]),
        "handler": str(letter["handler"]),
        "event_type": str(letter["event_type"]),
        "reason": str(letter["reason"]),
        "deliveries": int(letter["deliveries"]),
        "created_at": datetime.fromisoformat(letter["created_at"]),
        "replayable": letter.get("message") is not None,
    }


def _trusted_job(message: object) -> Job:
    """The job a stored dead letter keeps, if its signature or seal holds."""
    if not isinstance(message, dict):
        raise JobRejected("not replayable: it came from a message nobody vouches for")
    sealed = "sealed" in message
    text = _signing.unseal(message.get("sealed")) if sealed else message.get("job")
    if not isinstance(text, str) or (not sealed and not _signing.verify(text, message.get("sig"))):
        raise JobRejected("not replayable: the stored job's signature does not match (it was altered)")
    try:
        payload = json.loads(text)
    except ValueError:
        raise JobRejected("not replayable: the stored job is not JSON") from None
    job = Job.from_payload(payload)
    return replace(job, sealed=True) if sealed else job
