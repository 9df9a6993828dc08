"""Realistic synthetic records for benchmarks: all three kinds, skewed (Zipf-like) market and
sector distributions, multilingual titles. Deterministic for a given seed.

    python -m bench.generate 1000 | head      # JSON lines
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import date, timedelta

from search_api.schema import AnyRecord, parse_record
from search_api.vocab import BLOCS, FINANCE_INSTRUMENTS, PROVIDER_TYPES, REQUIREMENT_TYPES, SECTORS

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
WORDS = {
    "en": [
        "international",
        "trade",
        "fair",
        "expo",
        "food",
        "coffee",
        "textile",
        "leather",
        "packaging",
        "furniture",
        "organic",
        "handicrafts",
        "week",
        "summit",
        "buyers",
        "exporters",
        "fresh",
        "fruit",
        "seafood",
        "spices",
        "tea",
        "cocoa",
        "fashion",
        "home",
    ],
    "fr": [
        "salon",
        "international",
        "foire",
        "alimentation",
        "café",
        "textile",
        "cuir",
        "emballage",
        "meuble",
        "biologique",
        "artisanat",
        "semaine",
        "exportateurs",
        "fruits",
    ],
    "es": [
        "feria",
        "internacional",
        "exposición",
        "alimentos",
        "café",
        "textil",
        "cuero",
        "envases",
        "muebles",
        "orgánico",
        "artesanía",
        "semana",
        "exportadores",
        "frutas",
    ],
}
HS = [
    "09",
    "0901",
    "090111",
    "090121",
    "0902",
    "18",
    "1801",
    "1806",
    "19",
    "20",
    "08",
    "0803",
    "61",
    "62",
    "6109",
    "42",
    "4202",
    "64",
    "94",
    "9403",
    "44",
    "4415",
    "03",
    "0306",
]


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


def _title(rng: random.Random) -> tuple[str, str]:
    lang = rng.choices(["en", "fr", "es"], weights=[70, 15, 15])[0]
    words = rng.sample(WORDS[lang], k=rng.randint(2, 5))
    return " ".join(w.capitalize() for w in words) + f" {rng.randint(2026, 2028)}", lang


def record_dict(i: int, rng: random.Random) -> dict:
    kind = rng.choices(["fair", "requirement", "finance"], weights=[60, 30, 10])[0]
    title, lang = _title(rng)
    market = _zipf_choice(rng, MARKETS)
    sectors = list({_zipf_choice(rng, list(SECTORS), 0.9) for _ in range(rng.randint(1, 3))})
    summary = " ".join(rng.choices(WORDS[lang], k=rng.randint(12, 40)))
    base = {
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
            hs_codes=rng.sample(HS, k=rng.randint(1, 3)),
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
