"""Requirements with dates to be reminded of, and reading the reminders an advisor got."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient

from tests.helpers.factories import parse_record
from tests.helpers.mail import Mailbox, text_of
from tests.helpers.subscriptions import subscribe_and_confirm

TODAY = date.today()
ADVISOR = "advisor@example.org"


def on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 7, 0)


def rule(id: str = "t_req:fop", **kw: Any) -> Any:
    data: dict[str, Any] = {
        "id": id,
        "kind": "requirement",
        "title": "Front-of-pack nutrition labelling",
        "source_id": "t_req",
        "markets": ["EU"],
        "sectors": ["food"],
        "requirement_type": "labelling",
        "status": "proposed",
        "comment_deadline": (TODAY + timedelta(days=30)).isoformat(),
        "effective_date": (TODAY + timedelta(days=400)).isoformat(),
    }
    data.update(kw)
    return parse_record(data)


def reminders_to(mailbox: Mailbox) -> list[EmailMessage]:
    return [m for m in mailbox.to(ADVISOR) if "reminders" in text_of(m)]


def subscribe_requirements(client: TestClient, mailbox: Mailbox, **kw: Any) -> dict[str, Any]:
    body = {"kind": ["requirement"], "markets": ["FR"], "reminders": [14, 3], **kw}
    return subscribe_and_confirm(client, mailbox, **body)
