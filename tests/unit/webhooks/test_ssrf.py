import ipaddress

import pytest

from server.security.ssrf import (
    PinnedNetworkBackend,
    UnsafeWebhookTarget,
    check_outgoing_url,
    is_forbidden,
    parse_host_address,
)

# Every spelling here must be refused, at registration and at send time.
FORBIDDEN_URLS = [
    "http://127.0.0.1/hook",
    "http://127.0.0.2:8080/hook",
    "http://2130706433/hook",  # decimal
    "http://0177.0.0.1/hook",  # octal
    "http://0x7f000001/hook",  # hex
    "http://0x7f.0.0.1/hook",  # hex first byte
    "http://127.1/hook",  # short form
    "http://0177.1/hook",  # short octal
    "http://017700000001/hook",  # whole-number octal
    "http://127.0.0.1./hook",  # trailing dot
    "http://[::1]/hook",
    "http://[0:0:0:0:0:0:0:1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # IPv4-mapped IPv6
    "http://[::ffff:7f00:1]/hook",  # the same, in hex
    "http://[::ffff:169.254.169.254]/hook",
    "http://[64:ff9b::a9fe:a9fe]/hook",  # NAT64 of 169.254.169.254
    "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "http://0.0.0.0/hook",  # unspecified
    "http://0/hook",
    "http://[::]/hook",
    "http://10.0.0.1/hook",  # private
    "http://172.16.5.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data/",  # cloud metadata
    "http://2852039166/latest/meta-data/",  # the same, decimal
    "http://0xa9.0xfe.0xa9.0xfe/",  # the same, dotted hex
    "http://[fd00:ec2::254]/",  # AWS metadata over IPv6
    "http://100.100.100.200/",  # Alibaba metadata (CGNAT range)
    "http://100.64.0.1/hook",  # CGNAT
    "http://[fe80::1]/hook",  # link-local
    "http://[fc00::1]/hook",  # unique local
    "http://224.0.0.1/hook",  # multicast
    "http://[ff02::1]/hook",
    "http://240.0.0.1/hook",  # reserved
    "http://255.255.255.255/hook",
    "http://198.18.0.1/hook",  # benchmarking
    "http://localhost/hook",  # names resolving to loopback
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://metadata.google.internal/computeMetadata/v1/",
    "http://metadata/",
]


@pytest.mark.parametrize("url", FORBIDDEN_URLS)
async def test_forbidden_targets_are_refused_at_registration(url):
    assert len(FORBIDDEN_URLS) >= 25
    with pytest.raises(UnsafeWebhookTarget):
        await check_outgoing_url(url, allow_local=False)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",
        "0177.0.0.1",
        "0x7f000001",
        "127.1",
        "::1",
        "::ffff:127.0.0.1",
        "169.254.169.254",
    ],
)
async def test_forbidden_addresses_are_refused_at_connection_time(host):
    backend = PinnedNetworkBackend(allow_local=False)
    with pytest.raises(UnsafeWebhookTarget):
        await backend.connect_tcp(host, 80)


async def test_names_resolving_to_loopback_are_refused_at_connection_time():
    with pytest.raises(UnsafeWebhookTarget):
        await PinnedNetworkBackend(allow_local=False).connect_tcp("localhost", 80)


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("[::1]", "::1"),
        ("10.1", "10.0.0.1"),
        ("example.com", None),
        ("1password.com", None),
    ],
)
def test_numeric_hosts_are_read_like_the_resolver_does(spelling, address):
    parsed = parse_host_address(spelling)
    assert (str(parsed) if parsed else None) == address


@pytest.mark.parametrize(
    "url",
    ["https://93.184.216.34/hook", "http://8.8.8.8:8080/x", "https://[2606:4700:4700::1111]/hook"],
)
async def test_public_addresses_are_accepted(url):
    assert await check_outgoing_url(url, allow_local=False) == url


async def test_an_unresolvable_name_is_accepted_at_registration_and_checked_when_sent():
    url = "https://receiver.invalid/hook"
    assert await check_outgoing_url(url, allow_local=False) == url
    with pytest.raises(UnsafeWebhookTarget, match="cannot resolve"):
        await PinnedNetworkBackend(allow_local=False).connect_tcp("receiver.invalid", 443)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/x",
        "https://user:pw@93.184.216.34/x",
        "https:///x",
        "https://93.184.216.34:99999/",
    ],
)
async def test_malformed_webhook_urls_are_refused(url):
    with pytest.raises(UnsafeWebhookTarget):
        await check_outgoing_url(url, allow_local=False)


async def test_the_development_setting_allows_loopback_only():
    assert await check_outgoing_url("http://localhost:8000/hook", allow_local=True)
    assert await check_outgoing_url("http://127.0.0.1:8000/hook", allow_local=True)
    assert await check_outgoing_url("http://[::ffff:127.0.0.1]:8000/hook", allow_local=True)
    for url in ("http://10.0.0.1/", "http://169.254.169.254/", "http://metadata.google.internal/"):
        with pytest.raises(UnsafeWebhookTarget):
            await check_outgoing_url(url, allow_local=True)


def test_public_addresses_are_not_forbidden():
    for address in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert not is_forbidden(ipaddress.ip_address(address))
