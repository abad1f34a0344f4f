"""The server's own front page: says what this is and where the API docs are."""

from __future__ import annotations

from litestar import get
from litestar.response import Template

import server


@get("/", tags=["system"], operation_id="home", include_in_schema=False)
async def home() -> Template:
    return Template(template_name="home.html", context={"version": server.__version__})
