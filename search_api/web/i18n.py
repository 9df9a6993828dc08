"""The web pages in English, French and Spanish: language choice per request, and the helpers
templates use.

Translations are chosen per render, never installed per request on the shared Jinja2
environment: the gettext callables read the `lang` variable of the template context, so two
requests in different languages rendering at once cannot see each other's language.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode, urlsplit

import jinja2
from babel.dates import get_month_names
from babel.numbers import format_decimal
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from search_api.domain import eligibility, markets, netguard, products, sentences
from search_api.domain.i18n import (
    DEFAULT_LANGUAGE,
    LANGUAGES,
    export_to_in,
    fmt_date_in,
    gettext,
    label_in,
    language_name_in,
    negotiate,
    normalise,
    translations,
)

COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600


def translator(request: Request) -> Callable[..., str]:
    """`_` for messages made in Python for a page (flash messages): `_("Saved %(id)s.", id=x)`."""
    lang = request_language(request)

    def _(message: str, **variables: Any) -> str:
        return gettext(lang, message, **variables)

    return _


# --------------------------------------------------------------------------- negotiation


def request_language(request: Request) -> str:
    """`?lang=`, else the `lang` cookie, else Accept-Language, else English."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        lang = normalise(candidate)
        if lang:
            return lang
    return negotiate(request.headers.get("accept-language"))


def switch_links(request: Request) -> list[dict[str, str]]:
    """This page in each language: the same path and parameters, `lang` replaced.

    A query-only reference (`?q=x&lang=fr`): the browser keeps the page's own path. Writing the
    request path into the link would let `GET //evil.example/search` produce
    `href="//evil.example/search?..."`, a link to another site."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    return [
        {
            "code": code,
            "name": name,
            "href": f"?{urlencode([*kept, ('lang', code)])}",
        }
        for code, name in LANGUAGES.items()
    ]


# --------------------------------------------------------------------------- template helpers


def _lang(ctx: Any) -> str:
    lang = ctx.get("lang") if ctx is not None else None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@pass_context
def _ctx_gettext(ctx: Any, message: str) -> str:
    return translations(_lang(ctx)).gettext(message)


@pass_context
def _ctx_ngettext(ctx: Any, singular: str, plural: str, n: int) -> str:
    return translations(_lang(ctx)).ngettext(singular, plural, n)


@pass_context
def tr(ctx: Any, message: str | None) -> str:
    """A message chosen in Python (a field label): translated, never %-formatted."""
    return translations(_lang(ctx)).gettext(message) if message else ""


@pass_context
def label(ctx: Any, value: str | None) -> str:
    return label_in(_lang(ctx), value)


@pass_context
def month_name(ctx: Any, month: int | None) -> str:
    if not month or not 1 <= month <= 12:
        return ""
    lang = _lang(ctx)
    if lang == DEFAULT_LANGUAGE:
        return calendar.month_name[month]
    return get_month_names("wide", locale=lang)[month]


@pass_context
def fmt_date(ctx: Any, value: Any) -> str:
    return fmt_date_in(_lang(ctx), value)


@pass_context
def fmt_number(ctx: Any, value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_lang(ctx))


@pass_context
def market_name(ctx: Any, code: str | None) -> str:
    return markets.market_name(code, _lang(ctx)) if code else ""


@pass_context
def language_name(ctx: Any, code: str | None) -> str:
    return language_name_in(_lang(ctx), code) if code else ""


@pass_context
def hs_label(ctx: Any, entry: dict[str, Any] | None) -> str:
    """An HS code's description in the page's language (the EU nomenclature's French and
    Spanish texts; English where it has none)."""
    return products.label(entry, _lang(ctx)) if entry else ""


@pass_context
def export_to(ctx: Any, code: str | None) -> str:
    return export_to_in(_lang(ctx), code) if code else ""


# Names that can never be a real site (RFC 2606, RFC 6761): the demo's fictional fairs live there.
_RESERVED_SUFFIXES = (".invalid", ".example", ".test", ".localhost")


def official_link(url: str | None) -> str | None:
    """A record's page as a link people can follow, or None for one that cannot be a public
    page (a reserved name, a loopback or private address, not http(s))."""
    if not url:
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".").lower()
    except ValueError:  # an unparsable netloc ("http://[::1")
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    if host == "localhost" or host.endswith(_RESERVED_SUFFIXES):
        return None
    try:
        # the crawler's own rule (IPv4 inside IPv6 judged by the IPv4, multicast refused)
        if not netguard.is_public_address(host):
            return None
    except ValueError:
        pass  # a name, not an address
    return url


@pass_context
def eligibility_text(ctx: Any, item: dict[str, Any]) -> str:
    """Who may apply to a finance item, in the page's language (domain/eligibility.py)."""
    info = item.get("eligibility") or eligibility.describe(
        item.get("eligible_exporter_countries") or []
    )
    return eligibility.summary(_lang(ctx), info)


@pass_context
def why_text(ctx: Any, reason: dict[str, Any] | None) -> str:
    """Why a record is shown for the product asked, in the page's language."""
    return sentences.product_text(_lang(ctx), reason)


@pass_context
def date_text(ctx: Any, what: str, value: str) -> str:
    """A checklist date in words, in the page's language."""
    return sentences.date_text(_lang(ctx), what, value)


@pass_context
def source_name(ctx: Any, item: Mapping[str, Any]) -> str:
    """The name of the source a record came from, as its registry says ("Tradepoint starter
    catalogue: finance"), in the page's language where the source gives one (`names`), never
    its internal id; else the host of the page it was read from; "" when neither is known.
    The registry is read once per request."""
    request = ctx.get("request")
    lang = _lang(ctx)
    names: dict[str, str] | None = None
    if request is not None:
        names = getattr(request.state, "source_names", None)
        if names is None:
            store = getattr(request.app.state, "store", None)
            names = (
                {s.id: s.name_in(lang) for s in store.list_sources()} if store is not None else {}
            )
            request.state.source_names = names
    name = (names or {}).get(str(item.get("source_id") or ""))
    if name:
        return name
    page = official_link(item.get("source_url"))  # the page the record was read from
    return (urlsplit(page).hostname or "") if page else ""


@pass_context
def source_title(ctx: Any, spec: Any) -> str:
    """A source's own name (agency pages) in the page's language (`names`), else `name`."""
    return str(spec.name_in(_lang(ctx)))


def short_title(title: str, limit: int = 70) -> str:
    """A rule's title short enough for a checklist line: the words before its first colon
    when they say what it is ("EU food labelling: Regulation (EU) No 1169/2011 ..."), not
    when they only name a country ("France: Triman logo ..."); else cut at a word."""
    head, sep, _ = title.partition(": ")
    if sep and len(head.split()) >= 3:
        title = head
    if len(title) <= limit:
        return title
    return title[:limit].rsplit(" ", 1)[0].rstrip(",;:(") + "…"


def days_until(value: Any) -> int | None:
    """Days from today to a date (negative when past), for "comments close in 12 days"."""
    if not value:
        return None
    return (date.fromisoformat(str(value)[:10]) - date.today()).days


def install(env: jinja2.Environment) -> None:
    """The i18n extension and the per-render helpers on a (shared) environment."""
    env.add_extension("jinja2.ext.i18n")
    env.policies["ext.i18n.trimmed"] = True  # babel.cfg extracts with trimmed = true too
    env.install_gettext_callables(  # type: ignore[attr-defined]
        gettext=_ctx_gettext, ngettext=_ctx_ngettext, newstyle=True
    )
    env.globals.update(
        tr=tr,
        label=label,
        month_name=month_name,
        fmt_date=fmt_date,
        fmt_number=fmt_number,
        market_name=market_name,
        language_name=language_name,
        export_to=export_to,
        official_link=official_link,
        days_until=days_until,
        eligibility_text=eligibility_text,
        why_text=why_text,
        date_text=date_text,
        source_name=source_name,
        source_title=source_title,
        short_title=short_title,
        hs_label=hs_label,
        languages=LANGUAGES,
    )


class LocalisedTemplates(Jinja2Templates):
    """Jinja2Templates whose responses are rendered in the request's language.

    `label_maps` are dicts of English msgids that templates index (`kind_label[kind]`); each
    render gets them translated under the same names.
    """

    def __init__(self, directory: str, label_maps: Mapping[str, Mapping[str, str]]) -> None:
        env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(directory),
            autoescape=jinja2.select_autoescape(),
            # Templates do not change under a running server; checking each one's file at every
            # use cost a stat per included item (40 a market page).
            auto_reload=False,
        )
        install(env)
        super().__init__(env=env)
        self.label_maps = label_maps

    def TemplateResponse(  # type: ignore[override]
        self, request: Request, name: str, context: dict[str, Any] | None = None, **kwargs: Any
    ) -> Response:
        return self.respond(request, self.render(request, name, context), **kwargs)

    def render(self, request: Request, name: str, context: dict[str, Any] | None = None) -> str:
        """The page `name` in the request's language, as text."""
        lang = request_language(request)
        ctx = dict(context or {})
        ctx["lang"] = lang
        ctx["lang_links"] = switch_links(request)
        tr_ = translations(lang)
        for key, mapping in self.label_maps.items():
            ctx[key] = {k: tr_.gettext(v) for k, v in mapping.items()}
        ctx.setdefault("request", request)
        for processor in self.context_processors:
            ctx.update(processor(request))
        return self.get_template(name).render(ctx)

    def respond(
        self,
        request: Request,
        content: str,
        *,
        status_code: int = 200,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        """A rendered page as the response to `request` (its language remembered when chosen
        by a link)."""
        response = HTMLResponse(content, status_code=status_code, headers=headers)
        # Caches must keep one copy per language choice.
        response.headers["Vary"] = "Accept-Language, Cookie"
        chosen = normalise(request.query_params.get("lang"))
        if chosen and chosen != request.cookies.get(COOKIE):
            response.set_cookie(
                COOKIE,
                chosen,
                max_age=COOKIE_MAX_AGE,
                samesite="lax",
                httponly=True,
                secure=request.app.state.settings.base_url.startswith("https://"),
            )
            # A response that sets a cookie is not for shared caches.
            if "public" in response.headers.get("cache-control", ""):
                response.headers["Cache-Control"] = "private, max-age=60"
        return response
