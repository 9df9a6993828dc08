"""tests/test_changes_feed.py on PostgreSQL (where commit order and id order differ unless the
change log takes its lock)."""

from tests.test_changes_feed import *  # noqa: F403
