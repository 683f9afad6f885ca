"""A module no worker imports on its own: importing it leaves a mark in Redis, so tests can see it never was."""

from __future__ import annotations

import os

import redis

redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"]).set(os.environ["CANVAS_TEST_PREFIX"] + ":canary", os.getpid())


def boom(event: object) -> None:
    """What a crafted message would like the worker to call."""
    redis.Redis.from_url(os.environ["CANVAS_TEST_REDIS_URL"]).set(os.environ["CANVAS_TEST_PREFIX"] + ":boom", 1)
