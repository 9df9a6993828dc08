"""tests/test_webhooks.py on PostgreSQL."""

from tests.test_webhooks import *  # noqa: F403
