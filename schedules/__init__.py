"""Scheduled work: crawls derived from the source registry, retries and email digests."""
