"""tests/test_scheduler_api.py on PostgreSQL."""

from tests.test_scheduler_api import *  # noqa: F403
