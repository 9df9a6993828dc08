"""One typed settings object, read from `TRADEPOINT_*` environment variables.

Every field has a default and a description; tests check that each one is documented in the README.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

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
        "tantivy", description="Search backend module in search_api/search: `tantivy` (embedded)."
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
        2.0, gt=0, description="How often `serve` drains the outbox into the search index."
    )
    log_level: str = Field("INFO", description="Log level.")
    log_json: bool = Field(False, description="Log as JSON lines instead of text.")
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

    @property
    def full_user_agent(self) -> str:
        if self.contact_url and self.contact_url not in self.user_agent:
            return f"{self.user_agent} (+{self.contact_url})"
        return self.user_agent
