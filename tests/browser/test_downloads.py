"""Invoices and receipts download in a real Chromium, hosted and inside the iframe, through links that work
once: every click asks for a fresh one, so clicking again downloads again."""

from __future__ import annotations

from typing import Any

from tests.browser.support import ADA, open_portal, sign_in_hosted


async def _download(page: Any, where: Any, name: str) -> bytes:
    async with page.expect_download() as started:
        await where.get_by_role("link", name=name).first.click()
    download = await started.value
    assert download.suggested_filename.endswith(".pdf")
    with open(await download.path(), "rb") as pdf:
        return pdf.read()


async def test_invoice_and_receipt_download_from_the_hosted_portal(page, stack):
    await sign_in_hosted(page, stack, ADA)
    await page.get_by_role("link", name="Orders").first.click()
    await page.get_by_role("heading", level=1, name="Orders").wait_for()
    for name in ("Download invoice (PDF)", "Download receipt (PDF)", "Download invoice (PDF)"):
        assert (await _download(page, page, name)).startswith(b"%PDF"), name


async def test_invoice_downloads_inside_the_iframe(page, host):
    frame = await open_portal(page, host, view="orders")
    for _ in range(2):
        assert (await _download(page, frame, "Download invoice (PDF)")).startswith(b"%PDF")
