"""HMAC signatures for jobs that travel in the broker message itself (published outside a transaction).

The key comes from the environment variable ``CANVAS_BACKGROUND_KEY``, else
from the Django setting of the same name, else is derived from Django's
``SECRET_KEY``. Without any of them, publishing or running such a job raises
:class:`SigningKeyMissing`, saying what to set. Emitters and workers must share
the key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
from typing import Any

__all__ = ["KEY_VARIABLE", "SigningKeyMissing", "sign", "signing_key", "verify"]

KEY_VARIABLE = "CANVAS_BACKGROUND_KEY"


class SigningKeyMissing(RuntimeError):
    """No key to sign or check background job messages with."""


def signing_key() -> bytes:
    """The key jobs are signed with (see the module docstring for where it comes from)."""
    from_environment = os.environ.get(KEY_VARIABLE)
    if from_environment:
        return from_environment.encode()
    if "django.conf" in sys.modules:
        from django.conf import settings

        if settings.configured:
            configured = getattr(settings, KEY_VARIABLE, None)
            if configured:
                return str(configured).encode()
            if settings.SECRET_KEY:
                # A key of its own, so that a signature made here is no Django signature.
                return hmac.new(settings.SECRET_KEY.encode(), b"canvas-core background jobs", hashlib.sha256).digest()
    raise SigningKeyMissing(
        f"background jobs sent through the broker are signed, and no key is configured: set the environment "
        f"variable {KEY_VARIABLE} (the same value for emitting processes and workers), or with Django the setting "
        f"{KEY_VARIABLE} or SECRET_KEY"
    )


def canonical(payload: dict[str, Any]) -> str:
    """The text a signature covers."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sign(text: str) -> str:
    """The hex HMAC-SHA256 of ``text``."""
    return hmac.new(signing_key(), text.encode(), hashlib.sha256).hexdigest()


def verify(text: object, signature: object) -> bool:
    """Whether ``signature`` is the signature of ``text`` (both as received, so of any type)."""
    if not isinstance(text, str) or not isinstance(signature, str):
        return False
    return hmac.compare_digest(sign(text), signature)
