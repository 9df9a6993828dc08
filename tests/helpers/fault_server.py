"""A fault-injecting loopback HTTP server for the reliability tests.

Paths (every response is generated, nothing is read from disk):

    /robots.txt                    allow everything
    /good/<name>.html              a page with one valid schema.org Event (JSON-LD)
    /site/index.html               links to /site/event-<i>.html for i < site_events
    /site/event-<i>.html           one Event each, served after `page_delay` seconds
    /calendar/<n>                  endless calendar: one Event and rel=next to /calendar/<n+1>
    /status/<code>                 that HTTP status with a small body (500, 503, ...)
    /reset                         the connection is closed with a TCP RST, no response
    /slow                          nothing is sent for `slow_seconds` (past any download timeout)
    /huge                          a 20 MB HTML page announced by Content-Length
    /huge-stream                   a 20 MB HTML page without Content-Length (ends at close)
    /redirect/loop-a, loop-b       302 to each other, forever
    /redirect/chain/<n>            302 to /redirect/chain/<n+1>, forever
    /good.ics                      a valid iCalendar feed (text/calendar)
    /wrong/feed.ics                the same feed served as image/png
    /wrong/page                    a good Event page served as application/octet-stream
    /wrong/image.png               real PNG bytes served as image/png
    /wrong/junk.ics                PNG bytes served as text/calendar

`requested` records every path asked for, so tests can count what the crawler fetched.
"""

from __future__ import annotations

import json
import socket
import socketserver
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.helpers.net import free_port

__all__ = ["HUGE_BYTES", "FaultServer", "TcpGate", "event_title", "run_fault_server"]

HUGE_BYTES = 20 * 1024 * 1024
_CHUNK = 64 * 1024
_BASE_DATE = date(2027, 1, 4)


def event_title(name: str) -> str:
    return f"Reliability Fair {name}"


def event_page(name: str, *, next_href: str | None = None) -> str:
    """An HTML page carrying one valid schema.org ExhibitionEvent named after `name`."""
    # A stable date per name, so a re-crawl finds the same content ("unchanged").
    offset = zlib.crc32(name.encode()) % 300
    start = _BASE_DATE + timedelta(days=offset)
    event = {
        "@context": "https://schema.org",
        "@type": "ExhibitionEvent",
        "name": event_title(name),
        "startDate": start.isoformat(),
        "endDate": (start + timedelta(days=2)).isoformat(),
        "eventStatus": "https://schema.org/EventScheduled",
        "location": {
            "@type": "Place",
            "name": "Test Expo Centre",
            "address": {
                "@type": "PostalAddress",
                "addressLocality": "Nairobi",
                "addressCountry": "KE",
            },
        },
        "keywords": "Coffee, Tea",
    }
    head = f'<link rel="next" href="{escape(next_href)}">' if next_href else ""
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(event_title(name))}</title>{head}"
        f'<script type="application/ld+json">{json.dumps(event)}</script>'
        f"</head><body><h1>{escape(event_title(name))}</h1></body></html>"
    )


def links_page(title: str, links: list[str]) -> str:
    """A page without structured data, only links (an index the crawler follows)."""
    items = "".join(f'<li><a href="{escape(href)}">{escape(href)}</a></li>' for href in links)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        f"</title></head><body><h1>{escape(title)}</h1><ul>{items}</ul></body></html>"
    )


def ics_feed(names: list[str]) -> str:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Fault server//EN"]
    for i, name in enumerate(names):
        start = _BASE_DATE + timedelta(days=7 * i)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{name}@fault.test",
            "DTSTAMP:20260901T120000Z",
            f"DTSTART;VALUE=DATE:{start:%Y%m%d}",
            f"DTEND;VALUE=DATE:{start + timedelta(days=2):%Y%m%d}",
            f"SUMMARY:{event_title(name)}",
            "LOCATION:Test Expo Centre\\, Nairobi\\, Kenya",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def png_bytes() -> bytes:
    """A valid 1x1 PNG: binary content a text parser must refuse, not choke on."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


ICS_NAMES = ["ical-one", "ical-two"]
WRONG_TYPE_ICS_NAMES = ["png-labelled-one"]


@dataclass
class FaultServer:
    """State shared with the handler threads; tests may change the knobs between requests."""

    base_url: str = ""
    requested: list[str] = field(default_factory=list)
    slow_seconds: float = 60.0
    page_delay: float = 0.0
    site_events: int = 12
    stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def note(self, path: str) -> None:
        with self._lock:
            self.requested.append(path)

    def count(self, prefix: str) -> int:
        with self._lock:
            return sum(1 for p in self.requested if p.startswith(prefix))

    def site_names(self) -> list[str]:
        return [f"site-{i}" for i in range(self.site_events)]


class _Handler(BaseHTTPRequestHandler):
    server_state: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes | str, content_type: str, **headers: str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        with suppress(OSError):
            self.wfile.write(data)

    def _html(self, body: str, content_type: str = "text/html; charset=utf-8") -> None:
        self._send(200, body, content_type)

    def do_GET(self) -> None:
        state = self.server_state
        path = self.path.split("?", 1)[0]
        state.note(self.path)
        if path == "/robots.txt":
            self._send(200, "User-agent: *\nAllow: /\n", "text/plain")
        elif path.startswith("/good/") and path.endswith(".html"):
            self._html(event_page(path.removeprefix("/good/").removesuffix(".html")))
        elif path == "/site/index.html":
            links = [f"/site/event-{i}.html" for i in range(state.site_events)]
            self._html(links_page("Site index", links))
        elif path.startswith("/site/event-"):
            # A slow site: the kill test strikes while pages are still being served.
            if state.page_delay and state.stop.wait(state.page_delay):
                return
            name = path.removeprefix("/site/event-").removesuffix(".html")
            self._html(event_page(f"site-{name}"))
        elif path.startswith("/calendar/"):
            n = int(path.removeprefix("/calendar/") or "0")
            self._html(event_page(f"calendar-{n}", next_href=f"/calendar/{n + 1}"))
        elif path.startswith("/status/"):
            code = int(path.removeprefix("/status/"))
            self._send(code, f"status {code}", "text/plain")
        elif path == "/reset":
            self._reset()
        elif path == "/slow":
            if not state.stop.wait(state.slow_seconds):
                self._html(event_page("too-late"))
        elif path == "/huge":
            self._huge(with_length=True)
        elif path == "/huge-stream":
            self._huge(with_length=False)
        elif path == "/redirect/loop-a":
            self._send(302, "", "text/plain", Location="/redirect/loop-b")
        elif path == "/redirect/loop-b":
            self._send(302, "", "text/plain", Location="/redirect/loop-a")
        elif path.startswith("/redirect/chain/"):
            n = int(path.removeprefix("/redirect/chain/"))
            self._send(302, "", "text/plain", Location=f"/redirect/chain/{n + 1}")
        elif path == "/good.ics":
            self._send(200, ics_feed(ICS_NAMES), "text/calendar; charset=utf-8")
        elif path == "/wrong/feed.ics":
            self._send(200, ics_feed(WRONG_TYPE_ICS_NAMES), "image/png")
        elif path == "/wrong/page":
            self._send(200, event_page("octet-stream"), "application/octet-stream")
        elif path == "/wrong/image.png":
            self._send(200, png_bytes(), "image/png")
        elif path == "/wrong/junk.ics":
            self._send(200, png_bytes(), "text/calendar")
        else:
            self._send(404, "not found", "text/plain")

    def _reset(self) -> None:
        # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()

    def _huge(self, *, with_length: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        if with_length:
            self.send_header("Content-Length", str(HUGE_BYTES))
        else:
            # No length and no chunking: the body ends when the connection closes.
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        filler = (b"<p>" + b"x" * 1017 + b"</p>\n") * (_CHUNK // 1024)
        sent = 0
        try:
            self.wfile.write(b"<!DOCTYPE html><html><body>")
            while sent < HUGE_BYTES - 64 and not self.server_state.stop.is_set():
                self.wfile.write(filler)
                sent += len(filler)
        except OSError:
            self.close_connection = True  # the crawler gave up: expected


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and aborted downloads are the point of this server


@contextmanager
def run_fault_server() -> Iterator[FaultServer]:
    state = FaultServer()
    handler = type("FaultHandler", (_Handler,), {"server_state": state})
    server = _Server(("127.0.0.1", 0), handler)
    state.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()  # release handlers parked in slow responses
        server.shutdown()
        server.server_close()


class _Pipe(socketserver.BaseRequestHandler):
    target: tuple[str, int]

    def handle(self) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=30)
        except OSError:
            return
        with upstream:
            back = threading.Thread(target=_pump, args=(upstream, self.request), daemon=True)
            back.start()
            _pump(self.request, upstream)
            back.join(30)


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


class _GateServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True  # reopen the same port right after closing it
    daemon_threads = True


class TcpGate:
    """A fixed loopback port that is either closed (connection refused: the service is down)
    or forwards to `target` (the service is back), without the client being reconfigured."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._handler = type("Pipe", (_Pipe,), {"target": target})
        self._server: _GateServer | None = None

    def open(self) -> None:
        server = _GateServer(("127.0.0.1", self.port), self._handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
