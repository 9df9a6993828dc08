"""tests/test_feeds.py on PostgreSQL."""

from tests.test_feeds import *  # noqa: F403
