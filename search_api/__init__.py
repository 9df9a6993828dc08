"""Tradepoint search API: record schema, system of record, search backends, API and web pages."""
