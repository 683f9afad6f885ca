"""The CLI's listings count handlers: start each from an empty registry."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _empty(empty_registry: None) -> None:
    pass
