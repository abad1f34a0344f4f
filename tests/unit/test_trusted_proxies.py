"""SELFSERVE_TRUSTED_PROXIES: which reverse proxies' forwarded headers ``selfserve serve`` believes."""

import pytest

from server.settings import Settings, SettingsError


def test_no_proxy_is_trusted_by_default():
    assert Settings.from_env({"SELFSERVE_SECRET_KEYS": "k" * 32}).trusted_proxies == ()


def test_addresses_and_networks_are_read_in_order():
    settings = Settings.from_env(
        {"SELFSERVE_SECRET_KEYS": "k" * 32, "SELFSERVE_TRUSTED_PROXIES": " 10.0.0.7, 10.1.0.0/16 ,::1"}
    )
    assert settings.trusted_proxies == ("10.0.0.7", "10.1.0.0/16", "::1")


@pytest.mark.parametrize("value", ["*", "proxy.internal", "10.0.0.0/33"])
def test_anything_but_an_address_or_network_is_refused(value):
    with pytest.raises(SettingsError, match="SELFSERVE_TRUSTED_PROXIES"):
        Settings.from_env({"SELFSERVE_SECRET_KEYS": "k" * 32, "SELFSERVE_TRUSTED_PROXIES": value})
