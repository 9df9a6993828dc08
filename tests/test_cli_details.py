"""The command line as a new user meets it: its version, its help, agency names, a busy port,
and a crawl that says how far it got."""

from __future__ import annotations

import io
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crawlers.collector import RunCollector
from crawlers.runner import show_progress
from search_api import __version__
from search_api.cli import main
from search_api.domain.sources import parse_source
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import agency_id, list_keys, verify_key


def test_version_is_the_installed_one(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"tradepoint {__version__}"
    assert __version__ != "0+unknown"


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_serve_and_demo_help_show_their_defaults_and_the_data_dir(command: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "search_api.cli", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "(default: 8000)" in out and "(default: 127.0.0.1)" in out
    assert "TRADEPOINT_DATA_DIR" in out


def test_an_agency_key_takes_a_display_name(settings: Settings, store: Store) -> None:
    assert agency_id("Kenya Export Promotion Council") == "kenya_export_promotion_council"
    assert agency_id("Agence Sénégalaise de Promotion des Exportations (ASEPEX)") == (
        "agence_senegalaise_de_promotion_des_exportations_asepex"
    )
    assert agency_id("kenya_epc") == "kenya_epc"
    name = "Kenya Export Promotion Council"
    out = io.StringIO()
    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sys, "stdout", out)
        mp.setattr(sys, "stderr", err)
        assert main(["keys", "create", "--role", "agency", "--name", name]) == 0
    key = out.getvalue().strip()
    assert "kenya_export_promotion_council (Kenya Export Promotion Council)" in err.getvalue()
    principal = verify_key(store, key)
    assert principal is not None
    assert principal.name == "kenya_export_promotion_council"
    assert principal.label == name
    [row] = list_keys(store)
    assert row.display_name == name


def test_a_key_named_by_its_id_has_no_display_name(settings: Settings, store: Store) -> None:
    assert main(["keys", "create", "--role", "agency", "--name", "kenya_epc"]) == 0
    [row] = list_keys(store)
    assert (row.name, row.display_name) == ("kenya_epc", None)


def test_demo_on_a_busy_port_says_so_before_crawling(
    settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        assert main(["demo", "--port", str(port)]) == 2
        took = time.monotonic() - started
    err = capsys.readouterr().err
    assert f"port {port} on 127.0.0.1 is in use" in err and "--port" in err
    assert took < 10  # refused before any crawl (a demo crawl takes far longer)
    assert not Path(settings.data_dir / "tradepoint.db").exists()


def test_a_crawl_on_a_terminal_shows_its_progress() -> None:
    spec = parse_source(
        {
            "id": "xx_progress",
            "name": "x",
            "kind": "fair",
            "format": "ical",
            "start_urls": ["https://example.org/x.ics"],
        }
    )
    collector = RunCollector(spec)
    collector.pages = 12
    collector.add_error("https://example.org/a", "HTTP 404")
    out = io.StringIO()
    done = show_progress(collector, out, every=0.05)
    time.sleep(0.3)
    done.set()
    time.sleep(0.1)
    assert "xx_progress: 12 pages, 0 records, 1 errors" in out.getvalue()
    assert out.getvalue().endswith("\n")


def test_a_quick_crawl_prints_nothing() -> None:
    spec = parse_source(
        {
            "id": "xx_quick",
            "name": "x",
            "kind": "fair",
            "format": "ical",
            "start_urls": ["https://example.org/x.ics"],
        }
    )
    out = io.StringIO()
    show_progress(RunCollector(spec), out, every=5).set()
    time.sleep(0.1)
    assert out.getvalue() == ""
