"""tests/test_reminders.py on PostgreSQL (the dates are read from the stored JSON with its own
JSON operators there)."""

from tests.test_reminders import *  # noqa: F403
