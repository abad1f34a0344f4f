"""Jinja2 set-up for portal pages and a renderer that produces the HTML while the request's locale is active
(a lazy template response would render after the handler's locale context has ended)."""

from __future__ import annotations

from typing import Any

from litestar import Response
from litestar.plugins.jinja import JinjaTemplateEngine

from server import i18n
from server.http.types import AnyRequest


def configure_jinja(engine: JinjaTemplateEngine) -> None:
    env = engine.engine
    env.autoescape = True
    env.globals.update(
        _=i18n.gettext, ngettext=i18n.ngettext, html_lang=i18n.html_lang, text_direction=i18n.text_direction
    )
    env.filters.update(
        money=i18n.format_amount,
        day=i18n.format_day,
        moment=i18n.format_moment,
        rate=i18n.format_rate,
        period=i18n.format_period,
        number=i18n.format_number,
    )


def render(
    request: AnyRequest,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response[str]:
    engine = request.app.template_engine
    if engine is None:  # pragma: no cover - create_app always configures templates
        raise RuntimeError("templates are not configured")
    html = engine.get_template(template).render(**context)
    return Response(html, status_code=status, media_type="text/html", headers=headers or {})
