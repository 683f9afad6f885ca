"""Signing and sealing jobs that travel in the broker message itself (published outside the outbox).

A job without secrets travels as its JSON with an HMAC signature: workers
reject unsigned or altered ones. A job of an event with secret or
``repr=False`` fields is *sealed* instead: encrypted and authenticated with
Fernet (AES-128-CBC and HMAC-SHA256, from ``cryptography``), so that the broker
and anyone reading its queues see no value of it.

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

__all__ = ["KEY_VARIABLE", "SigningKeyMissing", "seal", "sign", "signing_key", "unseal", "verify"]

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


def _fernet() -> Any:
    import base64

    from cryptography.fernet import Fernet

    # A key of its own, derived from the signing key: a signature never doubles as an encryption key.
    derived = hmac.new(signing_key(), b"canvas-core sealed background jobs", hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def seal(text: str) -> str:
    """``text`` encrypted and authenticated, as a string for the message."""
    token: bytes = _fernet().encrypt(text.encode())
    return token.decode("ascii")


def unseal(token: object) -> str | None:
    """The text :func:`seal` sealed, or ``None`` for anything else (forged, altered, another key)."""
    from cryptography.fernet import InvalidToken

    if not isinstance(token, str):
        return None
    try:
        text: bytes = _fernet().decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError, ValueError):
        return None
    return text.decode()
