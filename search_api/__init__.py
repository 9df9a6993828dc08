"""Tradepoint search API: record schema, system of record, search backends, HTTP API and web pages."""
