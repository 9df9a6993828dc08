"""HS product codes: suggestions from product words, and one code with its parents."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from search_api.domain import products
from search_api.errors import NotFound

router = APIRouter(prefix="/api/v1", tags=["products"])


@router.get("/products", summary="HS codes for product words or a code")
def suggest_products(
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=200,
            description='Product words in English, French or Spanish ("roasted coffee", '
            '"noix de cajou", "anacardos") or an HS code ("0901", "09.01")',
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=products.MAX_LIMIT)] = 10,
) -> dict[str, Any]:
    return {"q": q, "items": products.suggest(q, limit)}


@router.get("/products/{code}", summary="One HS code, its chapter and heading, its sub-codes")
def get_product(code: str) -> dict[str, Any]:
    entry = products.describe(code)
    if entry is None:
        raise NotFound(f"hs: {code!r} is not a code of the HS nomenclature")
    return {
        **entry,
        "hierarchy": products.hierarchy(entry["code"]),
        "children": products.children(entry["code"]),
    }
