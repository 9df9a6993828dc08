"""tests/test_digests.py on PostgreSQL."""

from tests.test_digests import *  # noqa: F403
