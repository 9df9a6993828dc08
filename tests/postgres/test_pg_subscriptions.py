"""tests/test_subscriptions.py on PostgreSQL."""

from tests.test_subscriptions import *  # noqa: F403
