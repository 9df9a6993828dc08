"""tests/test_sources_api.py on PostgreSQL."""

from tests.test_sources_api import *  # noqa: F403
