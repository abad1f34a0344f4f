"""The hosted page is an installable web app in the merchant's name and colours."""

from PIL import Image

from server.db.tables import Organization


async def test_the_manifest_names_the_merchant_and_its_colours(client, org, repo_root):
    await Organization.update({Organization.branding: '{"primary_color": "#0f766e"}'}).where(
        Organization.id == org.org.id
    )
    response = await client.get(f"/portal/{org.org.slug}/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert manifest["name"] == f"{org.org.name} billing"
    assert manifest["start_url"] == manifest["scope"] == f"/portal/{org.org.slug}"
    assert manifest["display"] == "standalone"
    assert manifest["theme_color"] == "#0f766e"
    sizes = set()
    for icon in manifest["icons"]:
        with Image.open(repo_root / icon["src"].lstrip("/")) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add((icon["sizes"], icon.get("purpose", "any")))
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes


async def test_the_page_links_the_manifest_theme_colour_and_brand(client, org):
    await Organization.update(
        {Organization.branding: '{"primary_color": "#0f766e", "font_family": "\\"Inter\\", sans-serif"}'}
    ).where(Organization.id == org.org.id)
    page = await client.get(f"/portal/{org.org.slug}")
    assert f'<link rel="manifest" href="/portal/{org.org.slug}/manifest.webmanifest">' in page.text
    assert '<meta name="theme-color" content="#0f766e">' in page.text
    assert "--ss-primary: #0f766e" in page.text
    assert '--ss-font: "Inter", sans-serif' in page.text
    assert "manifest-src 'self'" in page.headers["content-security-policy"]
    icon = await client.get("/static/icons/icon-192.png")
    assert icon.status_code == 200


async def test_an_unknown_portal_has_no_manifest(client):
    response = await client.get("/portal/no-such-shop/manifest.webmanifest")
    assert response.status_code == 404
