"""tests/test_indexer.py on PostgreSQL."""

from tests.test_indexer import *  # noqa: F403
