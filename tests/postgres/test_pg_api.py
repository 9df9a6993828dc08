"""tests/test_api.py on PostgreSQL."""

from tests.test_api import *  # noqa: F403
