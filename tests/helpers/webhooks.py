"""A real loopback webhook receiver that verifies every signature with the `standardwebhooks`
package, and helpers to register webhooks and run deliveries."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from search_api.services import webhooks as wh
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key


@dataclass
class Receiver:
    """What the loopback endpoint got. `script` says how to answer the next requests, one
    entry each ("ok", "fail" = 500, "slow" = answer after the client gave up); then "ok"."""

    url: str = ""
    secret: str = ""
    script: list[str] = field(default_factory=list)
    got: list[dict[str, Any]] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self) -> str:
        with self.lock:
            return self.script.pop(0) if self.script else "ok"

    def accepted(self) -> list[dict[str, Any]]:
        with self.lock:
            return [g for g in self.got if g["answer"] == "ok"]


def handler_for(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                payload = Webhook(receiver.secret).verify(body, headers)
            except WebhookVerificationError:
                receiver.bad_signatures += 1
                self.send_response(401)
                self.end_headers()
                return
            answer = receiver.next_answer()
            with receiver.lock:
                receiver.got.append(
                    {"id": headers["webhook-id"], "payload": payload, "answer": answer}
                )
            if answer == "slow":
                time.sleep(2.5)
            self.send_response(500 if answer == "fail" else 200)
            self.end_headers()
            self.wfile.write(b"nope" if answer == "fail" else b"")

    return Handler


def auth(store: Store, name: str = "agency_ke") -> dict[str, str]:
    return {"Authorization": f"Bearer {create_key(store, name, 'agency')}"}


def register(api: TestClient, headers: dict[str, str], receiver: Receiver, **body: Any) -> dict:
    r = api.post("/api/v1/webhooks", json={"url": receiver.url, **body}, headers=headers)
    assert r.status_code == 201, r.text
    receiver.secret = r.json()["secret"]
    return r.json()


def run_until(settings: Settings, store: Store, done: Any, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "deliveries did not finish in time"
        wh.process(settings, store)
        time.sleep(0.2)


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    rec = Receiver()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(rec))
    rec.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield rec
    finally:
        server.shutdown()
        server.server_close()
