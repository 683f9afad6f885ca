"""The plugin's copies of pydantic's alias generators give pydantic's names.

The plugin imports only mypy, so it computes ``to_camel``/``to_pascal``/
``to_snake`` itself; here they meet pydantic's own on generated field names.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from canvas_core_mypy import _aliases
from hypothesis import given
from hypothesis import strategies as st
from pydantic import alias_generators

# Field names: identifiers, with the shapes the generators care about
# (runs of capitals, digits, repeated and leading underscores) made likely.
identifiers = st.from_regex(r"\A_{0,2}[A-Za-z][A-Za-z0-9_]{0,15}\Z") | st.text(min_size=1, max_size=12).filter(
    str.isidentifier
)

GENERATORS = [
    pytest.param(_aliases.to_camel, alias_generators.to_camel, id="to_camel"),
    pytest.param(_aliases.to_pascal, alias_generators.to_pascal, id="to_pascal"),
    pytest.param(_aliases.to_snake, alias_generators.to_snake, id="to_snake"),
]


@pytest.mark.parametrize(("ours", "pydantics"), GENERATORS)
@given(name=identifiers)
def test_same_alias_as_pydantic(ours: Callable[[str], str], pydantics: Callable[[str], str], name: str) -> None:
    assert ours(name) == pydantics(name)


@pytest.mark.parametrize(
    ("name", "camel", "pascal", "snake"),
    [
        ("user_id", "userId", "UserId", "user_id"),
        ("userId", "userId", "Userid", "user_id"),
        ("HTTPResponse", "httpresponse", "Httpresponse", "http_response"),
        ("_private_name", "_privateName", "_PrivateName", "_private_name"),
        ("version_2", "version2", "Version2", "version_2"),
    ],
)
def test_known_names(name: str, camel: str, pascal: str, snake: str) -> None:
    assert (_aliases.to_camel(name), _aliases.to_pascal(name), _aliases.to_snake(name)) == (camel, pascal, snake)
