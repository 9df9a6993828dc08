"""`tradepoint scheduler` alone (no `serve`) sends webhook deliveries and deadline reminders."""

from __future__ import annotations

import time
from datetime import date, timedelta

from fastapi.testclient import TestClient

from schedules.service import SchedulerService
from search_api.search.base import SearchBackend
from search_api.settings import Settings
from search_api.store import Store
from tests.helpers.factories import fair
from tests.helpers.mail import Mailbox, text_of
from tests.helpers.reminders import reminders_to, rule, subscribe_requirements
from tests.helpers.subscriptions import seed
from tests.helpers.webhooks import Receiver, auth, register


def _wait(done: object, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not done():  # type: ignore[operator]
        assert time.monotonic() < deadline, "the scheduler did not deliver"
        time.sleep(0.2)


def test_the_scheduler_delivers_webhooks(
    api: TestClient,
    store: Store,
    receiver: Receiver,
    hook_settings: Settings,
) -> None:
    register(api, auth(store), receiver)
    svc = SchedulerService(hook_settings.model_copy(update={"webhook_poll_seconds": 0.3}), store)
    svc.start()
    try:
        store.upsert_records([fair()])
        _wait(lambda: receiver.accepted())
    finally:
        svc.stop(grace=1)
    assert receiver.accepted()[0]["payload"]["type"] == "record.created"


def test_the_scheduler_sends_reminders(
    mail_client: TestClient,
    mailbox: Mailbox,
    mail_settings: Settings,
    store: Store,
    backend: SearchBackend,
) -> None:
    seed(store, backend, rule(comment_deadline=(date.today() + timedelta(days=3)).isoformat()))
    subscribe_requirements(mail_client, mailbox)
    svc = SchedulerService(mail_settings, store)
    svc.start()  # the reminders job runs at start, then every REMINDER_CHECK_MINUTES
    try:
        _wait(lambda: reminders_to(mailbox))
    finally:
        svc.stop(grace=1)
    assert "(in 3 days)" in text_of(reminders_to(mailbox)[0])
