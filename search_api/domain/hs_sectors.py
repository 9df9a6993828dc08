"""HS codes and sectors: which fairs fit a product (data/hs_sectors.yml, with its provenance).

Fairs are tagged with sectors, products with HS codes; this table joins the two, so that a
search for a product keeps the fairs of its sectors and a market page ranks its fairs by how
well they fit the product.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import yaml

from search_api.domain.vocab import SECTORS

DATA_FILE = Path(__file__).resolve().parent / "data" / "hs_sectors.yml"
GENERAL = "multi_sector"
"""The sector of general trade fairs: they fit every product."""

Tier = Literal["product", "related", "general", "other"]
TIERS: tuple[Tier, ...] = ("product", "related", "general", "other")
"""How well a fair fits a product, best first."""


@dataclass(frozen=True)
class ProductSectors:
    sectors: tuple[str, ...]
    """The product's own sectors."""
    related: tuple[str, ...]
    """Sectors whose fairs also sell it."""

    @property
    def searched(self) -> tuple[str, ...]:
        """Every sector whose fairs a search for the product keeps: its own, the related
        ones, and general trade fairs."""
        return tuple(dict.fromkeys((*self.sectors, *self.related, GENERAL)))


@dataclass(frozen=True)
class Fit:
    tier: Tier
    sectors: tuple[str, ...]
    """The fair's sectors that make the tier (its other sectors for `other`)."""
    main: bool
    """The fair's first (main) sector is one of them."""


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, ProductSectors], dict[str, ProductSectors]]:
    raw = yaml.safe_load(DATA_FILE.read_text(encoding="utf-8"))
    out = []
    for part in ("chapters", "headings"):
        entries: dict[str, ProductSectors] = {}
        for code, spec in (raw.get(part) or {}).items():
            code = str(code)
            entry = ProductSectors(
                tuple(spec.get("sectors") or ()), tuple(spec.get("related") or ())
            )
            unknown = [s for s in (*entry.sectors, *entry.related) if s not in SECTORS]
            if unknown:
                raise ValueError(f"{DATA_FILE.name}: {code}: unknown sectors {unknown}")
            entries[code] = entry
        out.append(entries)
    return out[0], out[1]


def chapters() -> dict[str, ProductSectors]:
    return dict(_table()[0])


def product_sectors(hs: str | None) -> ProductSectors | None:
    """The sectors of an HS code (its heading's when listed, else its chapter's); None when
    the code is unknown to the table."""
    if not hs or len(hs) < 2:
        return None
    by_chapter, by_heading = _table()
    return by_heading.get(hs[:4]) or by_chapter.get(hs[:2])


def searched_sectors(hs: str | None) -> tuple[str, ...]:
    found = product_sectors(hs)
    return found.searched if found else ()


def fit(fair_sectors: list[str] | tuple[str, ...], hs: str) -> Fit:
    """How well a fair with these sectors fits the product `hs`."""
    found = product_sectors(hs) or ProductSectors((), ())
    sectors = list(dict.fromkeys(fair_sectors))
    for tier, wanted in (("product", found.sectors), ("related", found.related)):
        hit = tuple(s for s in sectors if s in wanted)
        if hit:
            return Fit(tier, hit, sectors[0] in hit)  # type: ignore[arg-type]
    if GENERAL in sectors:
        return Fit("general", (GENERAL,), sectors[0] == GENERAL)
    return Fit("other", tuple(sectors), False)
