import pytest

from server.settings import Settings, SettingsError


def test_defaults_match_the_contract(tmp_path):
    settings = Settings.from_env({"SELFSERVE_DATA_DIR": str(tmp_path)})
    assert settings.database_url == "sqlite:///./selfserve.db"
    assert settings.public_url == "http://127.0.0.1:8000"
    assert settings.redis_url is None
    assert settings.smtp_url is None
    assert settings.env == "development"


def test_development_generates_a_key_once_and_reuses_it(tmp_path, caplog):
    first = Settings.from_env({"SELFSERVE_DATA_DIR": str(tmp_path)})
    second = Settings.from_env({"SELFSERVE_DATA_DIR": str(tmp_path)})
    assert len(first.secret_keys) == 1
    assert len(first.secret_keys[0]) >= 32
    assert first.secret_keys == second.secret_keys
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert "SELFSERVE_SECRET_KEYS is not set" in caplog.text


def test_key_list_is_oldest_first():
    keys = ["a" * 40, "b" * 40]
    settings = Settings.from_env({"SELFSERVE_SECRET_KEYS": " , ".join(keys)})
    assert settings.secret_keys == tuple(keys)


def test_production_refuses_missing_keys_and_plain_http_and_says_what_to_set():
    with pytest.raises(SettingsError) as error:
        Settings.from_env(
            {"SELFSERVE_ENV": "production", "SELFSERVE_PUBLIC_URL": "http://billing.example.com"}
        )
    message = str(error.value)
    assert "set SELFSERVE_SECRET_KEYS" in message
    assert "set SELFSERVE_PUBLIC_URL to the https://" in message


def test_production_refuses_local_webhooks():
    with pytest.raises(SettingsError, match="SELFSERVE_ALLOW_LOCAL_WEBHOOKS"):
        Settings.from_env(
            {
                "SELFSERVE_ENV": "production",
                "SELFSERVE_PUBLIC_URL": "https://billing.example.com",
                "SELFSERVE_SECRET_KEYS": "k" * 40,
                "SELFSERVE_ALLOW_LOCAL_WEBHOOKS": "true",
            }
        )


def test_production_refuses_local_sign_in_providers():
    with pytest.raises(SettingsError, match="SELFSERVE_ALLOW_LOCAL_OAUTH"):
        Settings.from_env(
            {
                "SELFSERVE_ENV": "production",
                "SELFSERVE_PUBLIC_URL": "https://billing.example.com",
                "SELFSERVE_SECRET_KEYS": "k" * 40,
                "SELFSERVE_ALLOW_LOCAL_OAUTH": "1",
            }
        )


def test_github_endpoints_default_to_github_and_can_point_elsewhere():
    keys = {"SELFSERVE_SECRET_KEYS": "k" * 40}
    default = Settings.from_env(keys)
    assert (default.github_oauth_base, default.github_api_base) == (
        "https://github.com",
        "https://api.github.com",
    )
    assert default.allow_local_oauth is False
    moved = Settings.from_env(
        {
            **keys,
            "SELFSERVE_GITHUB_OAUTH_BASE": "https://github.example.com/",
            "SELFSERVE_GITHUB_API_BASE": "https://github.example.com/api/v3",
            "SELFSERVE_ALLOW_LOCAL_OAUTH": "true",
        }
    )
    assert moved.github_oauth_base == "https://github.example.com"
    assert moved.github_api_base == "https://github.example.com/api/v3"
    assert moved.allow_local_oauth is True


def test_production_accepts_secure_settings():
    settings = Settings.from_env(
        {
            "SELFSERVE_ENV": "production",
            "SELFSERVE_PUBLIC_URL": "https://billing.example.com/",
            "SELFSERVE_SECRET_KEYS": "k" * 40,
        }
    )
    assert settings.is_production
    assert settings.public_url == "https://billing.example.com"
    assert settings.public_origin == "https://billing.example.com"


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"SELFSERVE_ENV": "staging"}, "SELFSERVE_ENV must be one of"),
        ({"SELFSERVE_SECRET_KEYS": "short"}, "at least 32 characters"),
        ({"SELFSERVE_PUBLIC_URL": "billing.example.com"}, "SELFSERVE_PUBLIC_URL must be an http(s) URL"),
        (
            {"SELFSERVE_GITHUB_OAUTH_BASE": "github.example.com"},
            "SELFSERVE_GITHUB_OAUTH_BASE must be an http(s)",
        ),
        ({"SELFSERVE_GITHUB_API_BASE": "file:///etc"}, "SELFSERVE_GITHUB_API_BASE must be an http(s)"),
    ],
)
def test_bad_values_are_explained(env, fragment):
    with pytest.raises(SettingsError) as error:
        Settings.from_env(env)
    assert fragment in str(error.value)
