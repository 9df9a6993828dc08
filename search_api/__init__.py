"""Tradepoint search API: record schema, system of record, search backends, API and web pages."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tradepoint")
except PackageNotFoundError:  # a source tree that was never installed
    __version__ = "0+unknown"
