"""Email: messages rendered from Jinja2 templates in the subscriber's language, sent with smtplib.

Every message is multipart (text + HTML) and carries `List-Unsubscribe` with RFC 8058 one-click
(`List-Unsubscribe-Post`). SMTP credentials are read from the settings at connect time and never
logged, not even in error messages.
"""

from __future__ import annotations

import email.policy
import logging
import re
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from functools import lru_cache
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from search_api.domain.i18n import translations
from search_api.domain.languages import UI_LANGUAGES
from search_api.errors import MailError, MailNotConfigured
from search_api.search.request import SavedSearch
from search_api.services.email_messages import CONTEXT, EMAIL_MESSAGES
from search_api.settings import Settings

log = logging.getLogger(__name__)

SMTP_TIMEOUT = 30
# Long header lines are legal up to 998 characters; the default (78) would fold a long
# List-Unsubscribe URL into RFC 2047 encoded words, which mail clients do not parse as a URL.
_HEADERS_POLICY = email.policy.default.clone(max_line_length=998)
IMPLICIT_TLS_PORT = 465


# --------------------------------------------------------------------------- rendering


@lru_cache(maxsize=8)
def _env(templates_dir: Path) -> Environment:
    # Autoescape the HTML templates only: record titles come from crawled pages.
    env = Environment(
        loader=FileSystemLoader(str(templates_dir / "email")),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    return env


@dataclass(frozen=True)
class Strings:
    """The email strings (`email_messages.py`) in one language, called by key."""

    lang: str

    def __call__(self, key: str, **kw: Any) -> str:
        message = EMAIL_MESSAGES.get(key)
        if message is None:
            return key
        text = translations(self.lang).pgettext(CONTEXT, message)
        return text % kw if kw else text

    def status(self, value: str | None) -> str:
        if not value:
            return self("none")
        key = f"status_{value}"
        return self(key) if key in EMAIL_MESSAGES else value.replace("_", " ")


def strings(settings: Settings, lang: str) -> Strings:
    return Strings(lang if lang in UI_LANGUAGES else "en")


def market_label(code: str, lang: str) -> str:
    try:
        from search_api.domain.markets import market_name

        return market_name(code, lang)
    except Exception:  # a name is a nicety: never fail an email for it
        return code


def describe_search(settings: Settings, search: SavedSearch, lang: str) -> str:
    """One line saying what a subscription watches, e.g. "Trade fairs · in Germany · upcoming"."""
    t = strings(settings, lang)
    parts = [", ".join(t(f"kind_{k}") for k in search.kind)]
    if search.market:
        parts.append(
            t("in_markets", markets=", ".join(market_label(m, lang) for m in search.market))
        )
    if search.sector:
        parts.append(t("in_sectors", sectors=", ".join(s.replace("_", " ") for s in search.sector)))
    if search.hs:
        parts.append(t("hs", code=search.hs))
    if search.q:
        parts.append(t("words", q=quoted_words(search.q)))
    if search.days_ahead:
        parts.append(t("next_days", n=search.days_ahead))
    elif search.date_from or search.date_to:
        if search.date_from:
            parts.append(t("from_date", date=search.date_from.isoformat()))
        if search.date_to:
            parts.append(t("to_date", date=search.date_to.isoformat()))
    else:
        parts.append(t("upcoming"))
    return " · ".join(parts)


QUOTED_MAX = 60
_LINKISH = re.compile(
    r"(?i)\b(?:[a-z][a-z0-9+.-]*://|www\.)\S*|\S+\.(?:com|org|net|io|ru|cn|xyz)\S*"
)


def quoted_words(q: str) -> str:
    """What a subscriber typed, as an email may repeat it to them: short, and with nothing that
    reads as a link (the form is public: anyone can put words in an email we send)."""
    words = _LINKISH.sub("…", " ".join(q.split()))
    return words if len(words) <= QUOTED_MAX else words[: QUOTED_MAX - 1].rstrip() + "…"


def fmt_dates(start: str | date | None, end: str | date | None) -> str:
    # ISO dates read the same in every language a subscriber may choose.
    if not start:
        return ""
    start, end = str(start)[:10], str(end)[:10] if end else None
    return start if not end or end == start else f"{start} – {end}"


def render(settings: Settings, name: str, lang: str, **context: Any) -> tuple[str, str]:
    """`name`.txt and `name`.html from templates/email, as (text, html)."""
    env = _env(settings.templates_dir)
    ctx = {"t": strings(settings, lang), "lang": lang, "fmt_dates": fmt_dates, **context}
    text = env.get_template(f"{name}.txt").render(ctx)
    html = env.get_template(f"{name}.html").render(ctx)
    return text, html


# --------------------------------------------------------------------------- messages


def mail_domain(settings: Settings) -> str:
    return urlsplit(settings.base_url).hostname or "localhost"


def new_message_id(settings: Settings) -> str:
    return make_msgid(domain=mail_domain(settings))


def build_message(
    settings: Settings,
    *,
    to: str,
    subject: str,
    text: str,
    html: str,
    unsubscribe_url: str,
    lang: str = "en",
    message_id: str | None = None,
) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = settings.smtp_from
    msg["To"] = to
    msg["Date"] = formatdate(usegmt=True)
    msg["Message-ID"] = message_id or new_message_id(settings)
    msg["Auto-Submitted"] = "auto-generated"
    msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html, subtype="html", cte="quoted-printable")
    # After the body: set_content() drops every Content-* header set before it.
    msg["Content-Language"] = lang
    # Headers are folded when the message is serialised, with this policy; the body parts are
    # already encoded (76-character quoted-printable lines) by the default policy.
    msg.policy = _HEADERS_POLICY
    return msg


# --------------------------------------------------------------------------- sending


def ensure_configured(settings: Settings) -> None:
    if not settings.smtp_host:
        raise MailNotConfigured(
            "email is not configured on this server (set TRADEPOINT_SMTP_HOST); "
            "subscriptions need it for the confirmation email"
        )


class Mailer:
    """One SMTP connection, opened on the first send and reused for the next ones.

    Use as a context manager; `send` raises `MailError` when the server refuses or is gone.
    """

    def __init__(self, settings: Settings) -> None:
        ensure_configured(settings)
        self.settings = settings
        self._conn: smtplib.SMTP | None = None

    def __enter__(self) -> Mailer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _where(self) -> str:
        return f"{self.settings.smtp_host}:{self.settings.smtp_port}"

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        assert s.smtp_host is not None
        try:
            if s.smtp_port == IMPLICIT_TLS_PORT:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.smtp_host,
                    s.smtp_port,
                    timeout=SMTP_TIMEOUT,
                    context=ssl.create_default_context(),
                )
            else:
                conn = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=SMTP_TIMEOUT)
                if s.smtp_starttls:
                    conn.starttls(context=ssl.create_default_context())
            if s.smtp_user:
                password = s.smtp_password.get_secret_value() if s.smtp_password else ""
                conn.login(s.smtp_user, password)
        except smtplib.SMTPAuthenticationError:
            raise MailError(
                f"SMTP server {self._where()} refused the credentials of user "
                f"{s.smtp_user!r} (check TRADEPOINT_SMTP_USER / TRADEPOINT_SMTP_PASSWORD)"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            # Only the exception type: server replies may echo what was sent (AUTH lines).
            raise MailError(
                f"cannot connect to SMTP server {self._where()}: {type(exc).__name__}"
            ) from None
        return conn

    def _alive(self, conn: smtplib.SMTP) -> bool:
        try:
            return conn.noop()[0] == 250
        except (smtplib.SMTPException, OSError):
            return False

    def send(self, msg: EmailMessage) -> None:
        # Reconnect only when a NOOP shows the old connection is dead: nothing of this message
        # has been sent yet at that point, so it cannot go out twice.
        if self._conn is None or not self._alive(self._conn):
            self.close()
            self._conn = self._connect()
        try:
            refused = self._conn.send_message(msg)
        except smtplib.SMTPRecipientsRefused:
            raise MailError("the SMTP server refused the recipient address") from None
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise MailError(
                f"sending through {self._where()} failed: {type(exc).__name__}"
            ) from None
        if refused:
            raise MailError("the SMTP server refused the recipient address")
        log.info("mail sent message_id=%s subject=%r", msg["Message-ID"], msg["Subject"])

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()


def send_message(settings: Settings, msg: EmailMessage) -> None:
    with Mailer(settings) as mailer:
        mailer.send(msg)


__all__ = [
    "MailError",
    "MailNotConfigured",
    "Mailer",
    "build_message",
    "describe_search",
    "ensure_configured",
    "render",
    "send_message",
    "strings",
]
