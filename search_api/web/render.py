"""Rendering web pages: the shared templates (in the request's language) and error pages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response

from search_api.domain.i18n import N_
from search_api.domain.sentences import CHECK_LABEL
from search_api.errors import TradepointError
from search_api.search.base import SearchBackend
from search_api.search.cache import kept_until_change
from search_api.search.shared import SharedAnswers, fetch_shared
from search_api.web.i18n import LocalisedTemplates, request_language

# English msgids: each render gets them translated under the same names (web/i18n.py).
FACET_LABEL = {
    "kind": N_("Type"),
    "markets": N_("Market"),
    "sectors": N_("Sector"),
    "status": N_("Status"),
    "language": N_("Language"),
}
KIND_LABEL = {"fair": N_("Trade fair"), "requirement": N_("Requirement"), "finance": N_("Finance")}
PARAM_LABEL = {
    "q": N_("words"),
    "kind": N_("type"),
    "market": N_("market"),
    "sector": N_("sector"),
    "status": N_("status"),
    "language": N_("language"),
    "date_from": N_("from"),
    "date_to": N_("to"),
    "hs": N_("HS"),
    "instrument": N_("instrument"),
    "provider_type": N_("provider"),
    "origin": N_("exporters from"),
    "sme_focus": N_("for SMEs"),
    "amount_min": N_("amount from"),
    "amount_max": N_("amount up to"),
    "currency": N_("currency"),
}


def templates(request: Request) -> LocalisedTemplates:
    """The app's templates; each response is rendered in the request's language, with the
    helpers of web/i18n.py (label, fmt_date, month_name, market_name, ...)."""
    app = request.app
    if not hasattr(app.state, "templates"):
        app.state.templates = LocalisedTemplates(
            str(app.state.settings.templates_dir),
            label_maps={
                "kind_label": KIND_LABEL,
                "facet_label": FACET_LABEL,
                "param_label": PARAM_LABEL,
                "check_label": CHECK_LABEL,
            },
        )
    found: LocalisedTemplates = app.state.templates
    return found


def page(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    return templates(request).TemplateResponse(
        request, name, context, status_code=status, headers=headers
    )


PAGES_KEPT = 512
"""Rendered public pages kept per process until the index changes (~20 kB each)."""


def kept_page(
    request: Request,
    backend: SearchBackend,
    name: str,
    context: Callable[[], dict[str, Any]],
    *,
    headers: dict[str, str] | None = None,
) -> Response:
    """A public page that depends only on its URL, its language, the day and the index: its
    text is kept until the index changes (search/cache.py), since rendering a page of dozens
    of items costs more than the searches it shows once those are kept too. Not for pages
    that show who is signed in, flash messages or forms with tokens."""
    tpl = templates(request)
    key = (request.url.path, request.url.query, request_language(request), date.today())
    shared: SharedAnswers | None = getattr(request.app.state, "shared_answers", None)

    def make() -> str:
        made = fetch_shared(
            shared, backend, ("page", *key), lambda: tpl.render(request, name, context()).encode()
        )
        return made.decode()

    content = kept_until_change(backend, "pages", key, make, PAGES_KEPT)
    return tpl.respond(request, content, headers=headers)


def render_error(request: Request, status: int, message: str) -> Response:
    try:
        return page(request, "error.html", {"status": status, "message": message}, status=status)
    except TradepointError:
        raise
    except Exception:
        return HTMLResponse(f"<h1>Error {status}</h1>", status_code=status)
