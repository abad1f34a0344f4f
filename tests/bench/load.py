"""Drive one endpoint with wrk (a separate process, loopback only, bounded in time) and read its figures.

Every run writes a small Lua script: fixed requests set ``wrk.method/headers/body``; requests that must
differ (one API key after another, single-use tokens) are built per request from a file, each wrk thread
taking every n-th line, so no value is sent twice unless the file says so.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

CONNECTIONS = 32
THREADS = 2
RESULT_PREFIX = "WRK_RESULT "

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('%s{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
    .. '"bad_status": %d, "socket_errors": %d}\\n', "RESULT_PREFIX", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
""".replace("RESULT_PREFIX", RESULT_PREFIX)

_PER_LINE = """
local counter = 0
function setup(thread)
  thread:set("index", counter)
  counter = counter + 1
end
local values, position = {}, 0
function init(args)
  local n = 0
  for line in io.lines(%(file)s) do
    if n %% %(threads)d == index then values[#values + 1] = line end
    n = n + 1
  end
end
request = function()
  position = position + 1
  if position > #values then
    if %(cycle)s then position = 1 else wrk.thread:stop() position = #values end
  end
  local value, second = values[position]:match("^([^\t]*)\t?(.*)$")
  return wrk.format(%(method)s, %(path)s, {%(headers)s}, %(body)s)
end
"""


class WrkMissing(RuntimeError):
    """wrk is not installed."""


@dataclass(frozen=True)
class Figures:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad_status: int
    """Answers that were not 2xx/3xx: a figure with any is reported as failed, not as fast."""
    socket_errors: int

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Request:
    """What to send. ``per_line`` names a file; ``{value}`` in ``headers``/``body`` is its current line, or
    the line's part before a tab when it has one, and ``{second}`` the part after it (a signature and the body
    it signs)."""

    path: str
    method: str = "GET"
    headers: dict[str, str] | None = None
    body: str | None = None
    per_line: Path | None = None
    cycle: bool = True
    """With ``per_line``: start again at the first line (API keys) or stop the thread (single-use tokens)."""


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for this text


def _lua_template(text: str) -> str:
    """A Lua expression for ``text`` with ``{value}`` and ``{second}`` replaced by those variables."""
    parts = re.split(r"\{(value|second)\}", text)
    return (
        " .. ".join(part if n % 2 else _lua_string(part) for n, part in enumerate(parts) if n % 2 or part)
        or '""'
    )


def script(request: Request) -> str:
    headers = request.headers or {}
    if request.per_line is None:
        lines = [f"wrk.method = {_lua_string(request.method)}"]
        lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
        if request.body is not None:
            lines.append(f"wrk.body = {_lua_string(request.body)}")
        return "\n".join(lines) + _DONE
    return (
        _PER_LINE
        % {
            "file": _lua_string(str(request.per_line)),
            "threads": THREADS,
            "cycle": "true" if request.cycle else "false",
            "method": _lua_string(request.method),
            "path": _lua_string(request.path),
            "headers": ", ".join(f"[{_lua_string(k)}] = {_lua_template(v)}" for k, v in headers.items()),
            "body": _lua_template(request.body) if request.body is not None else "nil",
        }
        + _DONE
    )


def run(
    base_url: str, request: Request, seconds: float, workdir: Path, *, connections: int = CONNECTIONS
) -> Figures:
    """``seconds`` of load at ``connections`` connections; wrk stops by itself."""
    wrk = shutil.which("wrk")
    if wrk is None:
        raise WrkMissing("wrk is not installed: apt-get install -y wrk")
    lua = workdir / "request.lua"
    lua.write_text(script(request))
    duration = max(1, round(seconds))
    url = base_url + request.path
    out = subprocess.run(
        [
            wrk,
            f"-t{THREADS}",
            f"-c{max(connections, THREADS)}",
            f"-d{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(lua),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(RESULT_PREFIX)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result:\n{out.stdout}\n{out.stderr}")
    data = json.loads(line.removeprefix(RESULT_PREFIX))
    return Figures(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        bad_status=data["bad_status"],
        socket_errors=data["socket_errors"],
    )
