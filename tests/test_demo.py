"""`tradepoint demo` (issue 16): its fictional site is served on a random loopback port, yet
its records' URLs are the site's own stable address, so running the demo again reports no
change and no record points at a port that is gone. The demo's crawls run in this process."""

from __future__ import annotations

import re

import pytest

from crawlers.demo import populate
from search_api.settings import Settings
from search_api.store import Store

DEMO_ORIGIN = "https://fairs.demo.tradepoint.invalid/"
LOOPBACK = re.compile(r"//(127\.|localhost|\[::1\])")


def outcomes(out: str) -> dict[str, str]:
    """`demo: <source>: succeeded: …` lines by source."""
    return dict(re.findall(r"^demo: (\S+): (.+)$", out, re.MULTILINE))


@pytest.mark.crawl
def test_a_second_demo_changes_nothing_and_no_record_keeps_the_port(
    settings: Settings, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    populate(settings)
    first = outcomes(capsys.readouterr().out)
    assert set(first) >= {"demo_fairs_schema_org", "demo_fairs_ical", "starter_fairs"}
    assert all(line.startswith("succeeded") for line in first.values()), first
    stored = {r.id: r for r in store.iter_records()}
    demo = [r for r in stored.values() if r.source_id.startswith("demo_")]
    assert len(demo) == 8
    for record in stored.values():
        for url in (record.url, record.source_url, record.evidence_url):
            assert not url or not LOOPBACK.search(url), (record.id, url)
    for record in demo:
        assert record.url and record.url.startswith(DEMO_ORIGIN), record.id
        assert record.source_url and record.source_url.startswith(DEMO_ORIGIN), record.id
    ical = [r for r in demo if r.source_id == "demo_fairs_ical"]
    assert {r.source_url for r in ical} == {DEMO_ORIGIN + "fairs.ics"}

    cursor = store.last_change_id()
    populate(settings)  # another port
    second = outcomes(capsys.readouterr().out)
    for source, line in second.items():
        assert re.match(r"succeeded: \d+ records: 0 new, 0 changed, \d+ unchanged", line), (
            source,
            line,
        )
    assert store.changes_after(cursor, 100) == []
    again = {r.id: r for r in store.iter_records()}
    assert set(again) == set(stored)
    for rid, record in again.items():
        assert (record.version, record.source_url, record.url) == (
            stored[rid].version,
            stored[rid].source_url,
            stored[rid].url,
        )
