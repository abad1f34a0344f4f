"""localstripe (a stateful Stripe-compatible server, from PyPI) in a process of its own, for the Stripe
provider's tests: the API at ``url`` (``SELFSERVE_STRIPE_API_BASE``), its fake Stripe.js at ``js_url``
(``SELFSERVE_STRIPE_JS_URL``), and ``/_config/webhooks/{id}`` to have it send signed events to our route.

Run as ``python -m tests.localstripe_server PORT``: the same server, except that it keeps its objects in
memory only (it would otherwise pickle them all to one shared file under /tmp after every write).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx

STARTUP_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LocalStripe:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def js_url(self) -> str:
        return f"{self.url}/js.stripe.com/v3/"

    @classmethod
    def start(cls) -> LocalStripe:
        port = _free_port()
        command = [sys.executable, "-m", "tests.localstripe_server", str(port)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        server = cls(url=f"http://127.0.0.1:{port}", process=process)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if httpx.get(server.js_url, timeout=2).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("localstripe did not start")
            time.sleep(0.1)

    def send_events_to(
        self, url: str, secret: str, *, name: str = "selfserve", types: list[str] | None = None
    ) -> None:
        """Deliver every Stripe event from now on to ``url`` (only those of ``types`` when given, so none
        with ``[]``), signed with ``secret``."""
        body = {"url": url, "secret": secret, **({} if types is None else {"events": types})}
        response = httpx.post(f"{self.url}/_config/webhooks/{name}", json=body)
        response.raise_for_status()

    def stop(self) -> None:
        self.process.kill()
        self.process.wait()


def _serve(port: int) -> None:
    from localstripe import resources, server

    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    sys.argv = ["localstripe", "--port", str(port), "--from-scratch"]
    server.start()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
