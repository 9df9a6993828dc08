"""tests/test_records_write.py on PostgreSQL."""

from tests.test_records_write import *  # noqa: F403
