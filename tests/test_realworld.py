"""Extractors against real third-party pages and calendars with hand-checked
expectations (the shared corpus; see its SOURCES.md). Not copied into the repo."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from crawlers.extract import extract_events, extract_ical

from .conftest import REALWORLD


def _corpus_dir() -> Path:
    env = os.environ.get("TRADEPOINT_REALWORLD_DIR")
    return Path(env) if env else REALWORLD


CORPUS = _corpus_dir()
EXPECTED_FILE = CORPUS / "expected.json"


def _cases() -> list[Any]:
    if not EXPECTED_FILE.is_file():
        # keep one placeholder case so the skip (and its reason) shows up
        return [pytest.param("html", "missing", id="corpus-missing")]
    expected = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
    cases = []
    for kind in ("html", "ics"):
        on_disk = sorted(p.name for p in (CORPUS / kind).iterdir() if p.is_file())
        for name in on_disk:
            cases.append(pytest.param(kind, name, id=f"{kind}/{name}"))
        # an expectation whose file is gone is as much a failure as a mismatch
        for name in sorted(set(expected.get(kind, {})) - set(on_disk)):
            cases.append(pytest.param(kind, name, id=f"{kind}/{name}"))
    return cases


def _comparable(event: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": event["title"],
        "start_date": event["start_date"].isoformat() if event["start_date"] else None,
        "end_date": event["end_date"].isoformat() if event["end_date"] else None,
        "country": event["country"],
        "city": event["city"],
        "status": event["status"],
        "online": event["online"],
    }


def _multiset(events: list[dict[str, Any]]) -> Counter[str]:
    return Counter(json.dumps(e, sort_keys=True, ensure_ascii=False) for e in events)


@pytest.mark.parametrize(("kind", "name"), _cases())
def test_realworld(kind: str, name: str) -> None:
    if not EXPECTED_FILE.is_file():
        pytest.skip(f"realworld corpus not found at {CORPUS}")
    expected = json.loads(EXPECTED_FILE.read_text(encoding="utf-8"))
    assert name in expected.get(kind, {}), f"no expectation for {kind}/{name}"
    path = CORPUS / kind / name
    assert path.is_file(), f"corpus file missing: {path}"
    body = path.read_bytes()
    # a plausible URL for the page: only relative links would depend on it
    url = f"http://corpus.test/{kind}/{name}"
    result = extract_ical(body, url) if kind == "ics" else extract_events(body, url)
    got = _multiset([_comparable(e) for e in result.events])
    want = _multiset(expected[kind][name])
    assert got == want, (
        f"unexpected: {sorted((got - want).elements())}\n"
        f"missing: {sorted((want - got).elements())}\n"
        f"errors: {result.errors}"
    )
