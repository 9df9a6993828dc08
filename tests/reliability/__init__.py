"""Failures from inside: concurrency, corrupt state, crashes (issue 13), one module per class."""
