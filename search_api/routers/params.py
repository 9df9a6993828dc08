"""The OpenAPI description of the search parameters.

Search endpoints read the query string through ONE pydantic model (`search/request.py`, via
`deps.search_request`) instead of one FastAPI `Query()` per parameter: FastAPI's per-parameter
handling cost ~0.3 ms a request, more than a search. The model also generates this description,
so the documentation still lists every parameter; routes add it with
`openapi_extra=SEARCH_OPENAPI`.
"""

from __future__ import annotations

from typing import Any

from search_api.search.request import openapi_parameters

SEARCH_OPENAPI: dict[str, Any] = {"parameters": openapi_parameters()}
