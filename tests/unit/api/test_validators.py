"""The closed grammar for values that reach CSS or links."""

import pytest

from server.errors import Invalid
from server.schemas.validators import check_color, check_font_family, check_length, check_metadata, check_url


@pytest.mark.parametrize(
    "value", ["#fff", "#4F46E5", "rgb(1, 2, 3)", "rgb(0 0 0 / 50%)", "hsl(243, 75%, 59%)", "hsl(10deg 5% 5%)"]
)
def test_colours_inside_the_grammar(value):
    assert check_color(value, "c") == value


@pytest.mark.parametrize(
    "value",
    ["red", "#ffff", "rgb(256, 0, 0)", "#fff;background:url(x)", "var(--x)", "rgb(1,2,3)}", "\\23 fff", ""],
)
def test_colours_outside_the_grammar(value):
    with pytest.raises(Invalid):
        check_color(value, "c")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("8px", True),
        ("0.5rem", True),
        ("1em", True),
        ("0", True),
        ("10vh", False),
        ("-1px", False),
        ("1px;", False),
        ("calc(1px)", False),
    ],
)
def test_lengths(value, ok):
    if ok:
        assert check_length(value, "l") == value
    else:
        with pytest.raises(Invalid):
            check_length(value, "l")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("'Inter', system-ui, sans-serif", True),
        ('"Fira Code", mono', True),
        ("a;b", False),
        ("x}y", False),
        ("url(x)", False),
        ("Ab\\63", False),
    ],
)
def test_font_families(value, ok):
    if ok:
        assert check_font_family(value, "f") == value
    else:
        with pytest.raises(Invalid):
            check_font_family(value, "f")


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("https://example.com/logo.svg", True),
        ("http://localhost:8001/x", True),
        ("http://10.0.0.5/x", True),
        ("http://example.com/x", False),
        ("javascript:alert(1)", False),
        ("https://user:pw@example.com", False),
        ("https://exa mple.com", False),
        ("https://example.com:99999", False),
        ("//example.com", False),
    ],
)
def test_urls(value, ok):
    if ok:
        assert check_url(value, "u") == value
    else:
        with pytest.raises(Invalid):
            check_url(value, "u")


def test_metadata_limits():
    assert check_metadata({"a": "b"}) == {"a": "b"}
    for bad in ({"": "x"}, {"k" * 41: "x"}, {"k": "v" * 501}, {str(i): "" for i in range(51)}):
        with pytest.raises(Invalid):
            check_metadata(bad)
