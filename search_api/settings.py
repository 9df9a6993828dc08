"""One typed settings object, read from `TRADEPOINT_*` environment variables.

Every field has a default and a description; tests check that each one is documented in the README.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from search_api.domain.cron import parse_cron

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRADEPOINT_", extra="ignore")

    data_dir: Path = Field(
        Path("./var"), description="Directory for the SQLite database and the tantivy index."
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the system of record; default is SQLite in DATA_DIR.",
    )
    search_backend: str = Field(
        "tantivy", description="Search backend module in search_api/search: tantivy or elastic."
    )
    elasticsearch_url: str | None = Field(
        None, description="Elasticsearch URL; setting it selects the Elasticsearch backend."
    )
    index_prefix: str = Field("tradepoint", description="Prefix of search index names.")
    base_url: str = Field(
        "http://127.0.0.1:8000", description="Public URL of the service, used in links and feeds."
    )
    user_agent: str = Field(
        "TradepointBot/0.1 (+https://github.com/tradepoint/tradepoint)",
        description="User-Agent the crawler identifies itself with.",
    )
    contact_url: str = Field(
        "https://github.com/tradepoint/tradepoint",
        description="Contact URL for site owners, appended to the User-Agent if missing.",
    )
    allow_private_hosts: bool = Field(
        False,
        description="Allow crawling loopback/private/link-local addresses (tests and demo only).",
    )
    crawl_concurrency_per_host: int = Field(
        2, ge=1, le=16, description="Concurrent requests per host while crawling."
    )
    crawl_delay: float = Field(
        0.5, ge=0, description="Minimum delay in seconds between requests to one host."
    )
    crawl_timeout: int = Field(
        1800, ge=10, description="Maximum duration of one crawl run in seconds."
    )
    crawl_max_page_bytes: int = Field(
        5_000_000, ge=10_000, description="Largest page the crawler downloads, in bytes."
    )
    download_timeout: int = Field(30, ge=1, description="Timeout of one HTTP request in seconds.")
    index_poll_seconds: float = Field(
        0.5,
        gt=0,
        description="How often `serve` looks for changes other processes (crawls) queued for "
        "the search index; its own are indexed at once.",
    )
    index_max_lag_seconds: float = Field(
        120.0,
        gt=0,
        description="/readyz says degraded when changes wait longer than this for the index.",
    )
    subscribe_limit_per_client_hour: int = Field(
        10, ge=1, description="Subscriptions (confirmation emails) one client may make an hour."
    )
    subscribe_limit_per_hour: int = Field(
        300, ge=1, description="Subscriptions (confirmation emails) everyone may make an hour."
    )
    max_body_bytes: int = Field(
        2_000_000,
        ge=1_000,
        description="Largest request body the API accepts (bytes); larger ones get a 413.",
    )
    body_timeout_seconds: float = Field(
        30.0, gt=0, description="A request body that stops arriving for this long gets a 408."
    )
    search_cache_size: int = Field(
        2048,
        ge=0,
        description="Search answers kept per API process until the index changes; 0 disables.",
    )
    search_threads: int = Field(
        1, ge=1, le=64, description="Threads per API process running searches."
    )
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(False, description="Log as JSON lines instead of text.")
    crawl_max_pages: int = Field(
        2000, ge=1, description="Most pages one crawl run fetches, whatever the source asks."
    )
    preview_max_pages: int = Field(
        3, ge=1, le=20, description="Pages fetched by a source preview (nothing is written)."
    )
    session_secret: SecretStr | None = Field(
        None,
        description="Key signing web session cookies; default: generated once into DATA_DIR.",
    )
    smtp_host: str | None = Field(None, description="SMTP server for email; unset: no email.")
    smtp_port: int = Field(25, description="SMTP port.")
    smtp_user: str | None = Field(None, description="SMTP user name, if the server needs one.")
    smtp_password: SecretStr | None = Field(None, description="SMTP password (never logged).")
    smtp_from: str = Field(
        "Tradepoint <tradepoint@localhost>", description="Sender address of emails."
    )
    smtp_starttls: bool = Field(False, description="Use STARTTLS on the SMTP connection.")
    digest_daily_cron: str = Field(
        "0 6 * * *", description="When daily digests are sent (cron, UTC)."
    )
    digest_weekly_cron: str = Field(
        "0 6 * * 1", description="When weekly digests are sent (cron, UTC)."
    )
    scheduler_jitter_seconds: int = Field(
        300, ge=0, description="Random delay added to scheduled crawls, spreading load."
    )
    scheduler_max_crawls: int = Field(
        4,
        ge=1,
        le=64,
        description="Crawls the scheduler runs at once, each in a child process; never two at "
        "once on one host.",
    )
    scheduler_misfire_grace_seconds: int = Field(
        3600, ge=1, description="A crawl missed by at most this much still runs (once)."
    )
    watch_cron: str = Field(
        "0 2 * * *",
        description="When the change watch reads curated records' official pages (cron, UTC).",
    )
    crawl_retries: int = Field(2, ge=0, description="Retries of a failed scheduled crawl.")

    @field_validator("digest_daily_cron", "digest_weekly_cron", "watch_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        # refused at start-up, naming the setting, rather than when the scheduler adds its job
        parse_cron(v)
        return v

    crawl_retry_backoff_seconds: int = Field(
        300, ge=1, description="Delay before the first retry; doubles for each further one."
    )
    webhook_secret_key: SecretStr | None = Field(
        None,
        description="Key encrypting webhook signing secrets at rest (a Fernet key); default: "
        "generated once into DATA_DIR.",
    )
    webhook_poll_seconds: float = Field(
        2.0,
        gt=0,
        description="How often `serve` and the scheduler turn record changes into webhook "
        "deliveries and send those due.",
    )
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, le=60, description="Timeout of one webhook delivery attempt in seconds."
    )
    webhook_retry_base_seconds: int = Field(
        30, ge=1, description="Delay before a failed delivery is retried; doubles each time."
    )
    webhook_retry_max_seconds: int = Field(
        3600, ge=1, description="Longest delay between two attempts of one delivery."
    )
    webhook_disable_after_days: float = Field(
        5.0,
        gt=0,
        description="A webhook whose every attempt failed for this long is disabled.",
    )
    webhooks_per_agency: int = Field(20, ge=1, description="Most webhooks one agency may have.")
    reminder_check_minutes: float = Field(
        60, gt=0, description="How often `serve` and the scheduler look for reminders due."
    )
    templates_dir: Path = Field(
        PROJECT_ROOT / "templates", description="Directory of the Jinja2 templates."
    )

    @cached_property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'tradepoint.db').resolve()}"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    def child_env(self) -> dict[str, str]:
        """This process's environment with every setting of this object as its variable, so
        a child process (a crawl, a preview) reads exactly these settings, also when they
        were given in code rather than in the environment."""
        env = dict(os.environ)
        for name in type(self).model_fields:
            key = f"TRADEPOINT_{name.upper()}"
            value = getattr(self, name)
            if value is None:
                env.pop(key, None)
            elif isinstance(value, SecretStr):
                env[key] = value.get_secret_value()
            elif isinstance(value, bool):
                env[key] = "1" if value else "0"
            elif isinstance(value, Path):
                env[key] = str(value.resolve())
            else:
                env[key] = str(value)
        return env

    @property
    def full_user_agent(self) -> str:
        if self.contact_url and self.contact_url not in self.user_agent:
            return f"{self.user_agent} (+{self.contact_url})"
        return self.user_agent
