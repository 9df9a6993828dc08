"""Scrapy settings derived from our one settings object. Politeness is on by default."""

from __future__ import annotations

from typing import Any

from search_api.settings import Settings


def scrapy_settings(settings: Settings) -> dict[str, Any]:
    return {
        "BOT_NAME": "tradepoint",
        "USER_AGENT": settings.full_user_agent,
        "ROBOTSTXT_OBEY": True,
        "ROBOTSTXT_USER_AGENT": settings.full_user_agent,
        "CONCURRENT_REQUESTS": 16,
        # Scrapy starts this many asyncio tasks for the output of every page; our pipeline is
        # synchronous, so 100 (the default) only costs ~1 ms a page in task churn.
        "CONCURRENT_ITEMS": 4,
        "CONCURRENT_REQUESTS_PER_DOMAIN": settings.crawl_concurrency_per_host,
        "DOWNLOAD_DELAY": settings.crawl_delay,
        "AUTOTHROTTLE_ENABLED": settings.crawl_delay > 0,
        "AUTOTHROTTLE_START_DELAY": max(settings.crawl_delay, 0.5),
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 1.0,
        "DOWNLOAD_TIMEOUT": settings.download_timeout,
        "DOWNLOAD_MAXSIZE": settings.crawl_max_page_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "CLOSESPIDER_TIMEOUT": settings.crawl_timeout,
        "CLOSESPIDER_PAGECOUNT": settings.crawl_max_pages,
        "RETRY_TIMES": 2,
        "REDIRECT_MAX_TIMES": 5,
        "COOKIES_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        # A crawl child process must not open listening ports.
        "REMOTE_CONTROL_ENABLED": False,
        "LOG_VERSIONS": [],
        # Our own handler (search_api.logs) formats everything, Scrapy's lines included.
        "LOG_INSTALL_ROOT_HANDLER": False,
        "LOG_LEVEL": "WARNING" if settings.log_level.upper() != "DEBUG" else "DEBUG",
        "REQUEST_FINGERPRINTER_IMPLEMENTATION": "2.7",
        "DOWNLOADER_MIDDLEWARES": {
            # Before robots.txt (100) so even the robots.txt request of a refused host never leaves.
            "crawlers.middlewares.PrivateHostGuard": 50,
        },
        "ITEM_PIPELINES": {"crawlers.pipelines.RecordPipeline": 300},
        "TRADEPOINT_ALLOW_PRIVATE_HOSTS": settings.allow_private_hosts,
        # The connection's own DNS answers are checked too (DNS rebinding): crawlers/resolver.py.
        **(
            {}
            if settings.allow_private_hosts
            else {"DNS_RESOLVER": "crawlers.resolver.GuardedResolver"}
        ),
    }
