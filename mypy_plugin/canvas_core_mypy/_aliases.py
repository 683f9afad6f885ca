"""The names pydantic's own alias generators give a field, computed without pydantic.

``ConfigDict(alias_generator=to_camel)`` makes pydantic validate ``user_id``
under ``userId``. The plugin imports only mypy, so it computes those names
itself; tests compare the results with pydantic's functions on generated
identifiers.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable
from typing import Final

_UPPER: Final = frozenset(string.ascii_uppercase)
_LOWER: Final = frozenset(string.ascii_lowercase)
_DIGITS: Final = frozenset(string.digits)
_ALPHANUMERIC: Final = _UPPER | _LOWER | _DIGITS


def to_pascal(name: str) -> str:
    """``user_id`` -> ``UserId``: title-cased words, joined where an ASCII letter or digit follows."""
    titled = name.title()
    kept = [
        character
        for index, character in enumerate(titled)
        if not (
            character == "_"
            and 0 < index < len(titled) - 1
            and titled[index - 1] in _ALPHANUMERIC
            and titled[index + 1] in _UPPER | _DIGITS
        )
    ]
    return "".join(kept)


def to_camel(name: str) -> str:
    """``user_id`` -> ``userId``; a name already in camel case (no digit before a lower letter) is kept."""
    if _is_camel(name):
        return name
    pascal = to_pascal(name)
    start = len(pascal) - len(pascal.lstrip("_"))
    if start < len(pascal) and pascal[start] in _UPPER:
        return pascal[:start] + pascal[start].lower() + pascal[start + 1 :]
    return pascal


def _is_camel(name: str) -> bool:
    if not name or name[0] not in _LOWER or any(character not in _ALPHANUMERIC for character in name):
        return False
    return not any(first.isdecimal() and second in _LOWER for first, second in itertools.pairwise(name))


def to_snake(name: str) -> str:
    """``userId`` (or ``UserID``, ``user-id``) -> ``user_id``."""
    # An upper-case run ends where its last letter starts a capitalised word.
    name = _split(name, lambda before, here, after: before in _UPPER and here in _UPPER and after in _LOWER)
    name = _split(name, lambda before, here, after: before in _LOWER and here in _UPPER)
    name = _split(name, lambda before, here, after: before in _DIGITS and here in _UPPER)
    name = _split(name, lambda before, here, after: before in _LOWER and here in _DIGITS)
    return name.replace("-", "_").lower()


def _split(name: str, boundary: Callable[[str, str, str], bool]) -> str:
    """``name`` with ``_`` inserted before each character where ``boundary(before, here, after)`` holds."""
    pieces = []
    for index, character in enumerate(name):
        after = name[index + 1] if index + 1 < len(name) else ""
        if index > 0 and boundary(name[index - 1], character, after):
            pieces.append("_")
        pieces.append(character)
    return "".join(pieces)


GENERATORS: Final[dict[str, Callable[[str], str]]] = {
    "pydantic.alias_generators.to_camel": to_camel,
    "pydantic.alias_generators.to_pascal": to_pascal,
    "pydantic.alias_generators.to_snake": to_snake,
}
