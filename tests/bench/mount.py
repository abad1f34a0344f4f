"""Median time from ``SelfServe.mount()`` to its ``ready`` event in headless Debian Chromium: a host page on
another origin (``http://localhost:PORT``; the portal is on 127.0.0.1) loads ``loader.js`` and mounts the
portal again and again, each time with a fresh token, measuring with ``performance.now()`` in the page."""

from __future__ import annotations

import statistics
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
WARMUP = 2

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>host</title>
<script src="%(portal)s/static/loader.js"></script></head><body><main id="slot"></main><script>
window.mountOnce = (token) => new Promise((resolve, reject) => {
  const el = document.createElement("div");
  document.getElementById("slot").appendChild(el);
  const started = performance.now();
  const portal = SelfServe.mount(el, { token, view: "overview", onEvent: (type, detail) => {
    if (type === "ready") {
      const ms = performance.now() - started;
      portal.destroy();
      el.remove();
      resolve(ms);
    }
    if (type === "error" || type === "expired") reject(new Error(type + " " + JSON.stringify(detail)));
  }});
});
</script></body></html>"""


@contextmanager
def host_page(port: int, portal_url: str) -> Iterator[str]:
    """Serve the host page on ``http://localhost:port`` while the block runs."""
    body = (_PAGE % {"portal": portal_url}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}/"
    finally:
        server.shutdown()
        server.server_close()


async def median_mount_ms(page_url: str, new_token: Callable[[], str], mounts: int) -> float:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            await page.goto(page_url)
            times = [await page.evaluate("(t) => mountOnce(t)", new_token()) for _ in range(WARMUP + mounts)]
        finally:
            await browser.close()
    return statistics.median(times[WARMUP:])
