"""``selfserve oauth set|list|delete``: the same provider settings as the API, from a terminal."""

import asyncio
import json
import os
import sys

from server.db.tables import OAuthProvider


async def _selfserve(settings, *args, stdin: str = "", **env):
    environment = {
        **os.environ,
        "SELFSERVE_DATABASE_URL": settings.database_url,
        "SELFSERVE_SECRET_KEYS": ",".join(settings.secret_keys),
        "SELFSERVE_PUBLIC_URL": "https://billing.example.com",
        **env,
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env=environment,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate(stdin.encode())
    return process.returncode, out.decode(), err.decode()


async def test_set_list_and_delete_a_provider(settings, org, keyring, openid_provider):
    slug = org.org.slug
    code, out, err = await _selfserve(
        settings,
        *("oauth", "set", "--org", slug, "--provider", "oidc", "--client-id", "portal"),
        *("--client-secret", "-", "--issuer", openid_provider.url, "--name", "Acme SSO", "--json"),
        stdin="from-standard-input\n",
        SELFSERVE_ALLOW_LOCAL_OAUTH="1",
    )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["callback_url"] == f"https://billing.example.com/portal/{slug}/oauth/oidc/callback"
    assert printed["name"] == "Acme SSO"
    assert "from-standard-input" not in out
    row = await OAuthProvider.objects().where(OAuthProvider.org == org.org.id).first()
    assert keyring.box.decrypt(row.client_secret_encrypted) == "from-standard-input"

    code, out, err = await _selfserve(settings, "oauth", "list", "--org", slug)
    assert code == 0, err
    assert f"oidc (Acme SSO, enabled): client id portal, issuer {openid_provider.url}" in out
    assert f"https://billing.example.com/portal/{slug}/oauth/oidc/callback" in out

    code, out, err = await _selfserve(settings, "oauth", "delete", "--org", slug, "--provider", "oidc")
    assert code == 0, err
    assert await OAuthProvider.count().where(OAuthProvider.org == org.org.id) == 0


async def test_refusals_say_why_without_a_traceback(settings, org, openid_provider):
    slug = org.org.slug
    code, _out, err = await _selfserve(
        settings,
        *("oauth", "set", "--org", slug, "--provider", "oidc", "--client-id", "portal"),
        *("--client-secret", "s", "--issuer", openid_provider.url),
    )
    assert code == 1
    assert "may not call" in err  # a local issuer needs SELFSERVE_ALLOW_LOCAL_OAUTH
    assert "Traceback" not in err

    code, _out, err = await _selfserve(
        settings, "oauth", "set", "--org", slug, "--provider", "github", "--client-id", "bad id"
    )
    assert code == 1
    assert "client_id" in err
    assert "Traceback" not in err
