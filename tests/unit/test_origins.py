import pytest

from server.security.origins import OriginError, normalize_origin_pattern, origin_matches


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://App.Example.com", "https://app.example.com"),
        ("https://app.example.com/", "https://app.example.com"),
        ("https://*.example.com", "https://*.example.com"),
        ("http://localhost:3000", "http://localhost:3000"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://192.168.1.20", "http://192.168.1.20"),
        ("https://shop.example.com:8443", "https://shop.example.com:8443"),
        ("https://shop.example.com:443", "https://shop.example.com"),
        ("http://localhost:80/", "http://localhost"),
    ],
)
def test_valid_patterns_are_normalized(raw, expected):
    assert normalize_origin_pattern(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "*",
        "",
        "https://*",
        "http://example.com",
        "ftp://example.com",
        "https://example.com/path",
        "https://example.com?x=1",
        "https://user:pw@example.com",
        "https://*.10.0.0.1",
        "https://exa mple.com",
        "https://-bad.example.com",
        "javascript:alert(1)",
        "https://example.com:99999",
        "http://::1:3000",
        "https://",
    ],
)
def test_invalid_patterns_are_refused(raw):
    with pytest.raises(OriginError):
        normalize_origin_pattern(raw)


@pytest.mark.parametrize("raw", ["http://[::1]:3000", "https://[2001:db8::1]", "http://[fe80::1]:8080"])
def test_ipv6_origins_are_refused_with_the_reason(raw):
    """Chromium drops ``frame-ancestors http://[::1]:3000`` as an invalid source (CSP's host grammar has no
    IPv6), so the embed could never be framed there; before, the brackets were lost (``http://::1:3000``)."""
    with pytest.raises(OriginError, match=r"IPv6.*frame-ancestors.*http://localhost:3000"):
        normalize_origin_pattern(raw)


PATTERNS = [
    "https://app.example.com",
    "https://*.shop.io",
    "https://*.eu.shop.io:8443",
    "http://localhost:3000",
]


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        ("https://app.example.com", True),
        ("https://app.example.com:443", True),
        ("HTTPS://App.Example.com", True),
        ("https://eu.shop.io", True),
        ("https://de.eu.shop.io:8443", True),
        ("http://localhost:3000", True),
        ("https://shop.io", False),
        ("http://eu.shop.io", False),
        ("https://eu.shop.io:8443", False),
        ("https://app.example.com:8443", False),
        ("https://app.example.com.evil.io", False),
        ("https://evilshop.io", False),
        ("http://localhost:3001", False),
        ("http://localhost", False),
        ("http://localhost:3000@evil.io", False),
        ("https://*.shop.io", False),
        ("null", False),
    ],
)
def test_matching_compares_scheme_host_and_port_with_one_wildcard_label(origin, allowed):
    assert origin_matches(origin, PATTERNS) is allowed


def test_an_ipv6_parent_matches_nothing_not_even_a_legacy_bracketless_entry():
    assert not origin_matches("http://[::1]:3000", ["http://::1:3000", "http://localhost:3000"])
    assert not origin_matches("http://::1:3000", ["http://::1:3000"])
