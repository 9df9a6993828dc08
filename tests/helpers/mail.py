"""A real SMTP server (aiosmtpd on a loopback port) that keeps what it receives, and readers of
the messages it got."""

from __future__ import annotations

import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

from tests.helpers.net import free_port


class Mailbox:
    """aiosmtpd handler keeping every accepted message; can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.raw: list[bytes] = []
        self.refuse: set[str] = set()
        self.port = 0
        self._lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = email.message_from_bytes(envelope.content, policy=default_policy)
        with self._lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.raw.append(envelope.content)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [m for m in self.messages if m["To"] == address]


@contextmanager
def smtp_server(box: Mailbox | None = None) -> Iterator[Mailbox]:
    """A real SMTP server on a free loopback port, delivering into `box`."""
    from aiosmtpd.controller import Controller

    box = box or Mailbox()
    # aiosmtpd cannot listen on port 0 (it connects to itself to check it started), so pick a
    # free port and retry if another process took it meanwhile.
    for attempt in range(5):
        controller = Controller(box, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            break
        except (OSError, RuntimeError):
            if attempt == 4:
                raise
    box.port = int(controller.port)
    try:
        yield box
    finally:
        controller.stop()


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content()


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("html",))
    assert part is not None
    return part.get_content()


def link_after(text: str, marker: str) -> str:
    for line in text.splitlines()[text.splitlines().index(marker) + 1 :]:
        if line.startswith("http"):
            return line.strip()
    raise AssertionError(f"no link after {marker!r}")


def confirm_link(msg: EmailMessage) -> str:
    return next(
        line.strip() for line in text_of(msg).splitlines() if line.strip().endswith("/confirm")
    )
