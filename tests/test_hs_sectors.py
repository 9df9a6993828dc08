"""HS codes and sectors (domain/data/hs_sectors.yml): which fairs fit a product."""

from __future__ import annotations

import pytest

from search_api.domain import hs_sectors, products
from search_api.domain.vocab import SECTORS


def test_every_hs_chapter_has_sectors_from_the_vocabulary() -> None:
    chapters = hs_sectors.chapters()
    hs = [f"{n:02d}" for n in range(1, 100) if products.describe(f"{n:02d}")]
    assert set(hs) <= set(chapters)
    for code, entry in chapters.items():
        assert set(entry.sectors) | set(entry.related) <= set(SECTORS), code
        assert not set(entry.sectors) & set(entry.related), code


@pytest.mark.parametrize(
    ("hs", "own"),
    [
        ("090121", "coffee_tea_cocoa"),
        ("0904", "food"),  # spices: a heading overrides its chapter
        ("0801", "fruit_vegetables"),
        ("080132", "fruit_vegetables"),
        ("5102", "textiles"),
        ("6109", "apparel"),
        ("9506", "sporting_goods"),
    ],
)
def test_products_sectors(hs: str, own: str) -> None:
    found = hs_sectors.product_sectors(hs)
    assert found is not None and found.sectors[0] == own
    assert found.searched[-1] == "multi_sector"


@pytest.mark.parametrize(
    ("sectors", "hs", "tier", "main"),
    [
        (["coffee_tea_cocoa", "beverages"], "090121", "product", True),
        (["food", "beverages"], "090121", "related", True),
        (["fish_seafood", "food"], "0801", "related", False),
        (["multi_sector"], "0801", "general", True),
        (["toys"], "5102", "other", False),
        ([], "5102", "other", False),
    ],
)
def test_fit(sectors: list[str], hs: str, tier: str, main: bool) -> None:
    fit = hs_sectors.fit(sectors, hs)
    assert (fit.tier, fit.main) == (tier, main)
