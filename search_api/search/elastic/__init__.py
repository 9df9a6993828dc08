"""The scale-out search backend: Elasticsearch 8 (selected by TRADEPOINT_ELASTICSEARCH_URL)."""

from search_api.search.elastic.backend import ElasticBackend, create

__all__ = ["ElasticBackend", "create"]
