"""tests/test_keys_and_runs.py on PostgreSQL."""

from tests.test_keys_and_runs import *  # noqa: F403
