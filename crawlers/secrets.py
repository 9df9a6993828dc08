"""Secrets a source references as `${NAME}`: resolved at crawl time, never stored or shown.

The registry stores the reference (`${EPING_KEY}`); the crawl process reads the value from
TRADEPOINT_SECRET_EPING_KEY just before it builds a request, and masks every value it resolved
in its errors and log lines, so a key in a query string never reaches the run's errors, the
API, the web pages or the logs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, quote_plus

from search_api.domain.sources import SECRET_ENV_PREFIX, SECRET_REF

MASK = "***"


class MissingSecret(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"needs {SECRET_ENV_PREFIX}{name}, which is not set")
        self.name = name


class Secrets:
    """Resolves `${NAME}` references from an environment and remembers what it resolved."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        self.environ = os.environ if environ is None else environ
        self.values: set[str] = set()

    @classmethod
    def every_one(cls, environ: Mapping[str, str] | None = None) -> Secrets:
        """Every secret the environment holds, as if resolved: to mask a message written
        before (or without) the spider that resolves them, such as a crawl's failure."""
        secrets = cls(environ)
        for key in secrets.environ:
            if key.startswith(SECRET_ENV_PREFIX) and secrets.environ[key]:
                secrets.value(key.removeprefix(SECRET_ENV_PREFIX))
        return secrets

    def value(self, name: str) -> str:
        value = self.environ.get(f"{SECRET_ENV_PREFIX}{name}")
        if not value:
            raise MissingSecret(name)
        # as written, and as a URL carries it once encoded (a query parameter, or Scrapy's
        # escaping of a start URL): "ab+c/d=" travels as "ab%2Bc%2Fd%3D", a space as "+" or "%20"
        self.values.update({value, quote(value, safe=""), quote_plus(value), quote(value)})
        return value

    def resolve(self, value: Any) -> Any:
        """`value` with every `${NAME}` in its strings replaced; MissingSecret when unset."""
        if isinstance(value, str):
            return SECRET_REF.sub(lambda m: self.value(m.group(1)), value)
        if isinstance(value, dict):
            return {self.resolve(k): self.resolve(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.resolve(v) for v in value]
        return value

    def mask(self, text: str) -> str:
        # Longest first, so that a secret containing another is masked whole.
        for secret in sorted(self.values, key=len, reverse=True):
            if secret:
                text = text.replace(secret, MASK)
        return text


class MaskingFilter(logging.Filter):
    """Rewrites log records so that no resolved secret appears in them."""

    def __init__(self, secrets: Secrets) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets.values:
            try:
                message = record.getMessage()
            except Exception:  # a broken format string: leave it to logging to report
                return True
            masked = self.secrets.mask(message)
            if masked != message:
                record.msg, record.args = masked, None
            if record.exc_info and not record.exc_text:
                # A traceback is formatted by the handler, after the filters: format it here
                # so that the text the handler prints is the masked one.
                record.exc_text = logging.Formatter().formatException(record.exc_info)
                record.exc_info = None
            if record.exc_text:
                record.exc_text = self.secrets.mask(record.exc_text)
        return True


def install_log_mask(secrets: Secrets) -> None:
    """Mask `secrets` in every line this process logs (its handlers, present and root)."""
    masking = MaskingFilter(secrets)
    root = logging.getLogger()
    for handler in root.handlers:
        handler.addFilter(masking)
    root.addFilter(masking)
