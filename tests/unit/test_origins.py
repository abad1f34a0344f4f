import pytest

from server.auth.origins import OriginError, normalize_origin_pattern, origin_matches


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
    ],
)
def test_invalid_patterns_are_refused(raw):
    with pytest.raises(OriginError):
        normalize_origin_pattern(raw)


def test_matching_is_exact_or_one_wildcard_suffix():
    patterns = ["https://app.example.com", "https://*.shop.io", "http://localhost:3000"]
    assert origin_matches("https://app.example.com", patterns)
    assert origin_matches("https://eu.shop.io", patterns)
    assert origin_matches("http://localhost:3000", patterns)
    assert not origin_matches("https://shop.io", patterns)
    assert not origin_matches("http://eu.shop.io", patterns)
    assert not origin_matches("https://app.example.com.evil.io", patterns)
    assert not origin_matches("https://evilshop.io", patterns)
    assert not origin_matches("http://localhost:3001", patterns)
    assert not origin_matches("null", patterns)
