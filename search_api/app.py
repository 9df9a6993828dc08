"""`create_app(settings)`: the FastAPI app with its store, backend and background indexer."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware

from search_api import __version__
from search_api.errors import TradepointError
from search_api.routers import (
    changes,
    feeds,
    health,
    markets,
    products,
    records,
    scheduler,
    search,
    sources,
    subscriptions,
    webhooks,
)
from search_api.search import create_backend
from search_api.search.base import SearchBackend
from search_api.search.indexer import drain_outbox
from search_api.search.shared import SHARED_ANSWERS_FILE, SharedAnswers, code_fingerprint
from search_api.services import reminders as reminder_service
from search_api.services import webhooks as webhook_service
from search_api.services.process import freeze_heap
from search_api.settings import Settings
from search_api.store import Store
from search_api.web import docs, pages
from search_api.web import subscriptions as subscription_pages
from search_api.web.agency import records as agency_records
from search_api.web.agency import session as agency_session
from search_api.web.agency import sources as agency_sources
from search_api.web.agency import webhooks as agency_webhooks
from search_api.web.limits import RequestLimits
from search_api.web.render import render_error

log = logging.getLogger(__name__)


class BackgroundIndexer:
    """Drains the outbox every few seconds, so records crawled by another process show up."""

    def __init__(self, store: Store, backend: SearchBackend, interval: float) -> None:
        self.store, self.backend, self.interval = store, backend, interval
        self._stop = threading.Event()
        # set when this process queues changes (a curated record written through the API or
        # an agency page): they are indexed at once instead of at the next poll
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="indexer", daemon=True)

    def start(self) -> None:
        self.store.add_outbox_listener(self._wake.set)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        woken = False
        while not self._stop.is_set():
            try:
                applied = drain_outbox(self.store, self.backend)
                # The signal comes just before the writer's commit completes: until it has
                # landed, the outbox looks empty. Look again a few times (within ~0.6 s).
                delay = 0.01
                while woken and not applied and delay < 0.5 and not self._stop.is_set():
                    time.sleep(delay)
                    delay *= 2
                    applied = drain_outbox(self.store, self.backend)
            except TradepointError as exc:
                # The index may be busy (another writer) or down; the outbox keeps the changes.
                log.warning("indexer: %s", exc.message)
            except Exception:
                log.exception("indexer failed; will retry")
            woken = self._wake.wait(self.interval)
            self._wake.clear()


class BackgroundDelivery:
    """Sends what partners and subscribers are owed, so that `tradepoint serve` alone does it:
    webhook deliveries every `TRADEPOINT_WEBHOOK_POLL_SECONDS`, deadline reminders every
    `TRADEPOINT_REMINDER_CHECK_MINUTES`. Each takes a lease first, so of several API workers
    (and a scheduler, which runs the same jobs) one does it at a time."""

    def __init__(self, settings: Settings, store: Store, backend: SearchBackend) -> None:
        self.settings, self.store, self.backend = settings, store, backend
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="delivery", daemon=True)
        self._next_reminders = 0.0

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                webhook_service.process(self.settings, self.store)
            except Exception:
                log.exception("webhook delivery failed; will retry")
            if time.monotonic() >= self._next_reminders:
                self._next_reminders = time.monotonic() + 60 * self.settings.reminder_check_minutes
                try:
                    reminder_service.run(self.settings, self.store)
                except Exception:
                    log.exception("reminders failed; will retry")
            self._stop.wait(self.settings.webhook_poll_seconds)


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith(("/api/", "/healthz", "/readyz")) and (
        "text/html" in request.headers.get("accept", "")
    )


def _error_response(
    request: Request,
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> Response:
    if _wants_html(request):
        response = render_error(request, status, message)
        response.headers.update(headers or {})
        return response
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def _json_error(err: Any, body: Any) -> str:
    """'body is not valid JSON: Expecting value (line 2, column 7)' rather than FastAPI's
    '27: JSON decode error' (a character offset)."""
    loc = err.get("loc", ())
    pos = loc[-1] if loc and isinstance(loc[-1], int) else None
    why = (err.get("ctx") or {}).get("error") or "not valid JSON"
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    if pos is None or not isinstance(body, str):
        return f"body is not valid JSON: {why}"
    line = body.count("\n", 0, pos) + 1
    column = pos - (body.rfind("\n", 0, pos) + 1) + 1
    return f"body is not valid JSON: {why} (line {line}, column {column})"


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    backend: SearchBackend | None = None,
    background_indexer: bool = True,
) -> FastAPI:
    """`background_indexer`: run the outbox indexer and the delivery of webhooks and
    reminders in background threads (tests that drive them step by step turn it off)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        freeze_heap()
        workers: list[BackgroundIndexer | BackgroundDelivery] = []
        if background_indexer:
            workers.append(
                BackgroundIndexer(app.state.store, app.state.backend, settings.index_poll_seconds)
            )
            workers.append(BackgroundDelivery(settings, app.state.store, app.state.backend))
        for worker in workers:
            worker.start()
        try:
            yield
        finally:
            for worker in workers:
                worker.stop()
            search_pool = getattr(app.state, "search_pool", None)  # routers/search.py
            if search_pool is not None:
                search_pool.shutdown(wait=True, cancel_futures=True)

    app = FastAPI(
        title="Tradepoint",
        version=__version__,
        description="Trade fairs, market-access requirements and export finance for small "
        "exporters. Reads are public.",
        lifespan=lifespan,
        # /docs is served from local assets (web/docs.py): FastAPI's loads Swagger UI from a CDN,
        # a blank page offline and on networks that block it.
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.store = store or Store(settings.sqlalchemy_url)
    app.state.backend = backend or create_backend(settings)
    # what the API's worker processes share of their answers and pages (search/shared.py)
    app.state.shared_answers = (
        SharedAnswers(
            settings.data_dir / SHARED_ANSWERS_FILE,
            code_fingerprint(Path(__file__).parent, settings.templates_dir),
        )
        if settings.search_cache_size > 0
        else None
    )

    @app.exception_handler(TradepointError)
    async def _tp_error(request: Request, exc: TradepointError) -> Response:
        return _error_response(request, exc.status_code, exc.code, exc.message, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        parts = []
        for err in exc.errors():
            if err.get("type") == "json_invalid":
                parts.append(_json_error(err, exc.body))
                continue
            loc = [str(x) for x in err.get("loc", ()) if x not in ("query", "body", "path")]
            parts.append(f"{'.'.join(loc) or 'request'}: {err.get('msg')}")
        return _error_response(request, 422, "invalid_parameter", "; ".join(parts))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return _error_response(request, exc.status_code, code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return _error_response(request, 500, "internal_error", "internal error; it was logged")

    app.add_middleware(GZipMiddleware, minimum_size=1000)
    # Web pages come after the JSON routers: their paths (/search, /records/...) must not shadow
    # /api/v1/... and the static mount is last.
    for module in (
        search,
        changes,
        health,
        feeds,
        subscriptions,
        markets,
        products,
        scheduler,
        sources,
        records,
        webhooks,
        pages,
        docs,
        subscription_pages,
        agency_session,
        agency_sources,
        agency_records,
        agency_webhooks,
    ):
        app.include_router(module.router)
    app.add_middleware(SessionMiddleware, **agency_session.session_options(settings))
    # Outermost: a body over the limit is refused before any other layer reads it.
    app.add_middleware(
        RequestLimits,
        max_bytes=settings.max_body_bytes,
        chunk_timeout=settings.body_timeout_seconds,
    )
    # The more specific mount first: Starlette routes to the first mount whose path matches.
    app.mount("/static/docs", StaticFiles(directory=docs.ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=settings.templates_dir / "static"), name="static")
    return app
