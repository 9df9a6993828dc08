"""Secrets resolved by a crawl never show in its log lines, tracebacks or failure message."""

from __future__ import annotations

import io
import logging

from crawlers.secrets import MASK, MaskingFilter, Secrets


def test_a_traceback_that_holds_a_secret_is_printed_masked() -> None:
    secrets = Secrets({"TRADEPOINT_SECRET_K": "k3y+v/al="})
    secrets.value("K")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(MaskingFilter(secrets))
    log = logging.getLogger("tests.secret_masking")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("refused key k3y+v/al=")
        except ValueError:
            log.exception("fetch of %s failed", "https://x.example/?key=k3y%2Bv%2Fal%3D")
    finally:
        log.removeHandler(handler)
    printed = out.getvalue()
    assert "Traceback" in printed and "ValueError: refused key ***" in printed
    assert "k3y" not in printed
    assert f"key={MASK}" in printed


def test_every_secret_of_the_environment_masks_a_message_written_without_a_spider() -> None:
    secrets = Secrets.every_one(
        {"TRADEPOINT_SECRET_A": "alpha-1", "TRADEPOINT_SECRET_B": "", "HOME": "/root"}
    )
    assert secrets.mask("alpha-1 at /root") == f"{MASK} at /root"


def test_only_what_is_sent_to_the_source_names_secrets() -> None:
    from search_api.domain.sources import parse_source

    spec = parse_source(
        {
            "id": "xx_fees",
            "name": "Fees in ${USD}",
            "kind": "fair",
            "format": "html",
            "start_urls": ["https://a.example/list?key=${LIST_KEY}"],
            "defaults": {"summary": "Prices in ${usd}"},
            "selectors": {"item": "div", "fields": {"title": "h2"}},
        }
    )
    # the name and the defaults are text people read: the source is not held back for them
    assert spec.secrets() == ["LIST_KEY"]
