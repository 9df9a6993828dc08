"""A loopback HTTP server for API sources: each route is a function of the request, and every
request (method, path, query, headers, body) is kept for the test to look at."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class ApiRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default


Reply = tuple[int, str, bytes]
Route = Callable[[ApiRequest], Reply]


def json_reply(doc: Any, status: int = 200) -> Reply:
    return status, "application/json", json.dumps(doc).encode()


def file_reply(path: Path, content_type: str = "application/json") -> Route:
    return lambda request: (200, content_type, path.read_bytes())


@dataclass
class ApiServer:
    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[ApiRequest] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def route(self, path: str, handler: Route) -> None:
        self.routes[path] = handler

    def hits(self, path: str) -> list[ApiRequest]:
        return [r for r in self.requests if r.path == path]


def _handler(server: ApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = ApiRequest(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=self.rfile.read(length) if length else b"",
            )
            server.requests.append(request)
            route = server.routes.get(parts.path)
            if route is None:
                status, ctype, body = 404, "text/plain", b"not found"
            else:
                status, ctype, body = route(request)
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = _serve
        do_POST = _serve

    return Handler


@contextmanager
def api_server() -> Iterator[ApiServer]:
    state = ApiServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
