"""Properties of the event map: escaping never breaks a drawing, and inheritance is followed through any import."""

from __future__ import annotations

import keyword
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from canvas_core.cli import _graph

IDENTIFIERS = st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}", fullmatch=True).filter(lambda name: not keyword.iskeyword(name))


def _undot(quoted: str) -> str:
    out, chars = [], iter(quoted[1:-1])
    for char in chars:
        if char == "\\":
            escaped = next(chars)
            out.append("\n" if escaped == "n" else escaped)
        else:
            out.append(char)
    return "".join(out)


@given(st.text())
def test_dot_strings_round_trip(text: str) -> None:
    quoted = _graph._dot_string(text)
    assert "\n" not in quoted
    assert _undot(quoted) == text


@given(st.text())
def test_mermaid_labels_never_contain_markup(text: str) -> None:
    escaped = _graph._mermaid_text(text)
    assert not set('"<>') & set(escaped)
    # Every literal "#" was encoded first, so the other codes cannot come from the input itself.
    for code, char in (("#lt;", "<"), ("#gt;", ">"), ("#quot;", '"'), ("#amp;", "&"), ("#35;", "#")):
        escaped = escaped.replace(code, char)
    assert escaped == text


IMPORT_STYLES = ["from_module", "module_alias", "relative", "same_module"]


@settings(max_examples=40, deadline=None)
@given(
    names=st.lists(IDENTIFIERS, min_size=1, max_size=5, unique=True),
    styles=st.lists(st.sampled_from(IMPORT_STYLES), min_size=5, max_size=5),
)
def test_inheritance_chains_are_found_through_any_import(names: list[str], styles: list[str]) -> None:
    """Class i derives from class i-1 (class 0 from Event), each in its own module of a package."""
    with tempfile.TemporaryDirectory() as directory:
        package = Path(directory) / "pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        bodies: dict[int, list[str]] = {}
        for index, name in enumerate(names):
            module = index if index == 0 or styles[index] != "same_module" else _module_of(index - 1, bodies)
            lines = bodies.setdefault(module, ["from canvas_core import events"])
            if index == 0:
                base = "events.Event"
            else:
                parent_module = _module_of(index - 1, bodies)
                parent = names[index - 1]
                if parent_module == module:
                    base = parent
                elif styles[index] == "module_alias":
                    lines.append(f"import pkg.m{parent_module} as alias{parent_module}")
                    base = f"alias{parent_module}.{parent}"
                elif styles[index] == "relative":
                    lines.append(f"from . import m{parent_module}")
                    base = f"m{parent_module}.{parent}"
                else:
                    lines.append(f"from pkg.m{parent_module} import {parent}")
                    base = parent
            lines += [f"class {name}({base}):", "    pass"]
        for module, lines in bodies.items():
            (package / f"m{module}.py").write_text("\n".join(lines) + "\n")

        found = {event.name.rsplit(".", 1)[-1]: event.bases for event in _graph.scan([package]).events}
        assert set(found) == set(names)
        for index, name in enumerate(names[1:], start=1):
            assert [base.rsplit(".", 1)[-1] for base in found[name]] == [names[index - 1]]


def _module_of(index: int, bodies: dict[int, list[str]]) -> int:
    # The module holding class `index`: the highest-numbered module defined at or before it.
    return max(module for module in bodies if module <= index)
