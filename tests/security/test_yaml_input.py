"""Class: YAML (and JSON) from outside. Every place it enters refuses aliases, deep nesting,
duplicate keys, non-text bytes and oversized documents, quickly and with one line saying why."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from search_api.domain.sources import parse_source
from search_api.domain.yaml_input import YamlInputError, load_yaml
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import create_key
from tests.helpers.agency import sign_in, token
from tests.helpers.formats import crawl, errors_of, records_of

# Crawls of fixture files and sites (tests/helpers/crawling.py runs them here).
pytestmark = pytest.mark.crawl

LAUGHS = """id: xx_laughs
name: Laughs
kind: fair
format: ical
start_urls: [https://example.org/x.ics]
defaults:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: [*g,*g,*g,*g,*g,*g,*g,*g,*g,*g]
"""
DEEP = "x: " + "[" * 50_000 + "]" * 50_000
DUPLICATE = "id: xx_a\nname: A\nname: B\nkind: fair\nformat: ical\nstart_urls: [https://e.org/x]\n"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        (LAUGHS, "aliases"),
        (DEEP, "nested more than"),
        (DUPLICATE, "key 'name' appears twice"),
        ("a: [1, 2", "line 1"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary"),
        ("id: caf\xe9".encode("latin-1"), "not UTF-8"),
        ("x: " + "y" * 2_000_000, "larger than"),
    ],
)
def test_hostile_yaml_is_refused_in_milliseconds(text: str | bytes, says: str) -> None:
    started = time.monotonic()
    with pytest.raises(YamlInputError, match=says):
        load_yaml(text)
    assert time.monotonic() - started < 0.5


def test_plain_yaml_and_json_read_as_before() -> None:
    assert load_yaml("id: x\nlist: [1, 2]\n") == {"id": "x", "list": [1, 2]}
    assert load_yaml('{"id": "x", "n": 1.5}') == {"id": "x", "n": 1.5}
    assert load_yaml("\ufeffid: x".encode()) == {"id": "x"}


def _agency_form(client: TestClient, store: Store) -> str:
    sign_in(client, create_key(store, "agency_a", "agency"))
    return token(client, "/agency/sources/new")


@pytest.mark.parametrize("text", [LAUGHS, DEEP, DUPLICATE])
def test_the_agency_form_refuses_it_with_a_4xx(client: TestClient, store: Store, text: str) -> None:
    csrf = _agency_form(client, store)
    started = time.monotonic()
    r = client.post(
        "/agency/sources/new", data={"csrf_token": csrf, "spec": text, "action": "save"}
    )
    assert 400 <= r.status_code < 500
    assert "not valid YAML" in r.text
    assert time.monotonic() - started < 2
    assert store.list_sources() == []
    assert client.get("/healthz").status_code == 200


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "search_api.cli", *args], capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (LAUGHS.encode(), "aliases"),
        (DEEP.encode(), "nested more than"),
        ("id: xx_caf\xe9\n".encode("latin-1"), "not UTF-8"),
        (b"\x00\x01\x02binary", "binary"),
        (DUPLICATE.encode(), "appears twice"),
    ],
)
def test_sources_add_says_what_is_wrong_in_one_line_and_exits_2(
    settings: Settings, tmp_path: Path, content: bytes, says: str
) -> None:
    path = tmp_path / "source.yml"
    path.write_bytes(content)
    for command in ("add", "import"):
        out = _cli("sources", command, str(path))
        assert out.returncode == 2, out.stderr
        assert says in out.stderr
        assert "Traceback" not in out.stderr
        assert len(out.stderr.strip().splitlines()) == 1


def test_adding_several_sources_is_all_or_nothing(settings: Settings, store: Store) -> None:
    first = {
        "id": "xx_first",
        "name": "First",
        "kind": "fair",
        "format": "ical",
        "start_urls": ["https://example.org/a.ics"],
    }
    store.add_source(parse_source({**first, "id": "xx_second"}))
    path = settings.data_dir / "two.yml"
    path.write_text(
        "sources:\n"
        "  - {id: xx_first, name: First, kind: fair, format: ical, "
        "start_urls: [https://example.org/a.ics]}\n"
        "  - {id: xx_second, name: Second, kind: fair, format: ical, "
        "start_urls: [https://example.org/b.ics]}\n"
    )
    out = _cli("sources", "add", str(path))
    assert out.returncode == 2 and "xx_second" in out.stderr
    assert [s.id for s in store.list_sources()] == ["xx_second"]  # xx_first was not added


def test_a_curated_file_with_aliases_is_an_error_on_the_run(
    settings: Settings, store: Store, tmp_path: Path
) -> None:
    path = tmp_path / "records.yml"
    path.write_text(
        "base: &base {kind: fair, title: Fair}\nrecords:\n  - {<<: *base, id: a}\n  - *base\n"
    )
    spec = parse_source(
        {
            "id": "xx_curated_alias",
            "name": "c",
            "kind": "fair",
            "format": "curated",
            "start_urls": [path.as_uri()],
            "min_items": 0,
        }
    )
    outcome = crawl(settings, store, spec)
    assert records_of(store, "xx_curated_alias") == {}
    assert any("aliases" in e["message"] for e in errors_of(store, outcome))
