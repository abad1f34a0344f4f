"""Every text pattern of the API's schemas matches a whole value: what a pattern accepts, it refuses with a
line break after it (Python's ``$`` alone also matches before a final line break)."""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterator

import msgspec
import msgspec.inspect as mi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import server


def _patterns() -> Iterator[tuple[str, str]]:
    """(where, pattern) for every string field with a pattern in the schemas of every package."""
    seen: set[str] = set()
    for module_info in pkgutil.walk_packages(server.__path__, "server."):
        name = module_info.name
        if not (name.endswith(".schemas") or name.startswith("server.schemas.")):
            continue
        module = importlib.import_module(name)
        for name, value in vars(module).items():
            if not (isinstance(value, type) and issubclass(value, msgspec.Struct)):
                continue
            for field in mi.type_info(value).fields:  # type: ignore[attr-defined]
                for kind in _string_types(field.type):
                    if kind.pattern and kind.pattern not in seen:
                        seen.add(kind.pattern)
                        yield f"{name}.{field.name}", kind.pattern


def _string_types(kind: mi.Type) -> Iterator[mi.StrType]:
    if isinstance(kind, mi.Metadata):
        yield from _string_types(kind.type)
    elif isinstance(kind, mi.StrType):
        yield kind
    elif isinstance(kind, mi.StructType):
        for field in kind.fields:
            yield from _string_types(field.type)
    elif isinstance(kind, mi.UnionType):
        for member in kind.types:
            yield from _string_types(member)
    elif isinstance(kind, mi.ListType | mi.SetType | mi.FrozenSetType | mi.VarTupleType):
        yield from _string_types(kind.item_type)
    elif isinstance(kind, mi.DictType):
        yield from _string_types(kind.key_type)
        yield from _string_types(kind.value_type)


PATTERNS = list(_patterns())


def test_the_schemas_have_patterns_to_check() -> None:
    assert len(PATTERNS) >= 10


@pytest.mark.parametrize(("where", "pattern"), PATTERNS, ids=[w for w, _ in PATTERNS])
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_a_pattern_refuses_a_value_with_a_line_break_after_it(
    where: str, pattern: str, data: st.DataObject
) -> None:
    value = data.draw(st.from_regex(pattern))
    assert re.search(pattern, value)
    assert re.search(pattern, value + "\n") is None, f"{where} accepts {value!r} + a line break"
