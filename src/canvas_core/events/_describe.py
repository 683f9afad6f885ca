"""Short descriptions of handlers, origins and exceptions for logs, spans and errors.

Every function here is total: it returns a string for any object, whatever
its ``__repr__``, ``__str__``, ``__getattr__`` or metaclass raise. They run
while a failure is being reported, and describing a thing for a log line must
never fail the emission (nor swap the exception being reported).
"""

from __future__ import annotations

import functools

__all__ = ["describe_callable", "describe_exception", "describe_origin"]


def describe_callable(handler: object) -> str:
    """``module.qualname`` of a handler, for logs and errors."""
    try:
        if isinstance(handler, functools.partial):
            return f"functools.partial({describe_callable(handler.func)})"
        module = _str_attribute(handler, "__module__")
        qualname = _str_attribute(handler, "__qualname__") or _type_name(handler)
        return f"{module}.{qualname}" if module else qualname
    except Exception:
        return f"<{_type_name(handler)} object>"


def describe_origin(origin: object) -> str:
    """A short description of an origin that never dumps an object's state.

    Plain values (``None``, strings, numbers) are shown as their ``repr``;
    classes, functions and modules by name; anything else only by its type,
    since an origin is often a request or a model instance holding data.
    """
    try:
        if origin is None or type(origin) in (str, int, float, bool):
            return repr(origin)
        if isinstance(origin, (str, int, float)):  # a subclass: its repr is user code
            return f"<{_type_name(origin)} object>"
        if _str_attribute(origin, "__qualname__"):  # classes, functions, methods
            return describe_callable(origin)
        name = _str_attribute(origin, "__name__")
        if name and _has_attribute(origin, "__spec__"):  # modules
            return f"module {name}"
    except Exception:
        pass
    return f"<{_type_name(origin)} object>"


def describe_exception(exc: BaseException) -> str:
    """``Type: message``, or ``Type`` alone when the exception's ``__str__`` fails or is empty."""
    name = _type_name(exc)
    try:
        message = str(exc)
    except Exception:
        return f"{name} (its __str__ raised)"
    return f"{name}: {message}" if message else name


def _str_attribute(target: object, name: str) -> str | None:
    try:
        value = getattr(target, name, None)
    except Exception:
        return None
    return value if isinstance(value, str) else None


def _has_attribute(target: object, name: str) -> bool:
    try:
        return hasattr(target, name)
    except Exception:
        return False


def _type_name(target: object) -> str:
    # type() cannot be fooled by __class__ or __getattr__; a metaclass's
    # __qualname__ could still raise.
    try:
        name = type(target).__qualname__
    except Exception:
        return "object"
    return name if isinstance(name, str) else "object"
