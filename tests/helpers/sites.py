"""Loopback HTTP servers over the fixture sites (tests/fixtures/sites/<name>), and where the shared
real-world corpora are.

Two kinds of site server:
- read-only (`start_site(root)`): serves a directory as it is; the conftest keeps one per
  fixture site for the whole session, since starting one per test costs more than the test;
- copy-on-write (`start_site(base, overlay=dir)`): serves `overlay` first and the fixture site
  under it, so a test can change or add pages (`site.page(path)`, `site.root / ...`) without
  copying the whole site or touching the repository's files.
"""

from __future__ import annotations

import functools
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"
SITES = FIXTURES / "sites"


def shared_dir() -> Path | None:
    """The project's shared/ folder (real-world corpora), which lives beside the repository
    checkout: X/main next to X/shared in CI, but a worktree may sit deeper (X/wt/name), so
    look upwards. TRADEPOINT_SHARED_DIR names it explicitly."""
    env = os.environ.get("TRADEPOINT_SHARED_DIR")
    if env:
        return Path(env)
    for parent in REPO.parents:
        candidate = parent / "shared"
        if (candidate / "realworld").is_dir() or (candidate / "realsources").is_dir():
            return candidate
    return None


def _realworld_dir() -> Path:
    shared = shared_dir()
    default = (shared or REPO.parent / "shared") / "realworld"
    if (default / "expected.json").is_file():
        return default
    env = os.environ.get("TRADEPOINT_REALWORLD_DIR")
    return Path(env) if env else default


REALWORLD = _realworld_dir()
"""The real-world pages and feeds (not copied into the repo); tests using it skip without it."""
REALSOURCES = (shared_dir() or REPO.parent / "shared") / "realsources"
"""Real responses of public sources (not copied into the repo); tests using them skip without."""


@dataclass
class SiteServer:
    """A loopback HTTP server over a directory that remembers every path requested."""

    base: Path
    overlay: Path | None = None
    base_url: str = ""
    requested: list[str] = field(default_factory=list)
    user_agents: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def root(self) -> Path:
        """Where a test writes pages: the overlay. A read-only server has none, so that no test
        writes into the repository's fixtures (which every other test reads)."""
        if self.overlay is None:
            raise AttributeError(
                f"{self.base} is served read-only: use a copy-on-write site to change pages"
            )
        return self.overlay

    def page(self, path: str) -> Path:
        """The overlay file for `path`, copied from the fixture site on first use: edit it in
        place (read_text/write_text) to change what the server answers."""
        target = self.root / path.lstrip("/")
        source = self.base / path.lstrip("/")
        if not target.exists() and source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return target

    def forget(self) -> None:
        """Clear the request log (a session-wide server serves many tests)."""
        self.requested.clear()
        self.user_agents.clear()

    def local_path(self, relative: str) -> Path:
        """The file served for `relative`: the overlay's if it has one, else the site's."""
        if self.overlay is not None:
            candidate = self.overlay / relative
            if candidate.exists():
                return candidate
        return self.base / relative


class _Handler(SimpleHTTPRequestHandler):
    site: SiteServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.site.requested.append(self.path)
        self.site.user_agents.add(self.headers.get("User-Agent", ""))
        super().do_GET()

    def translate_path(self, path: str) -> str:
        # The handler maps URLs under `directory` (the base); re-root the result on the overlay
        # when the overlay has that file.
        mapped = Path(super().translate_path(path))
        try:
            relative = mapped.relative_to(self.site.base)
        except ValueError:
            return str(mapped)
        local = self.site.local_path(str(relative))
        # keep a trailing slash: it tells the handler a directory was asked for
        return str(local) + ("/" if path.split("?", 1)[0].endswith("/") else "")

    def guess_type(self, path: str | os.PathLike[str]) -> str:
        if str(path).endswith(".ics"):
            return "text/calendar"
        return super().guess_type(path)


def start_site(root: Path, overlay: Path | None = None) -> tuple[SiteServer, ThreadingHTTPServer]:
    """Serve `root` (with `overlay` over it, if given) on a free loopback port."""
    if overlay is not None:
        overlay.mkdir(parents=True, exist_ok=True)
    site = SiteServer(root.resolve(), overlay)
    handler_cls = type("Handler", (_Handler,), {"site": site})
    handler = functools.partial(handler_cls, directory=str(site.base))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return site, server


def stop_site(server: ThreadingHTTPServer) -> None:
    server.shutdown()
    server.server_close()


@contextmanager
def serve_site(root: Path, overlay: Path | None = None) -> Iterator[SiteServer]:
    site, server = start_site(root, overlay)
    try:
        yield site
    finally:
        stop_site(server)


@contextmanager
def serve_copy(name: str, tmp_path: Path) -> Iterator[SiteServer]:
    """The fixture site `name`, copy-on-write over an overlay in `tmp_path`, so that a test may
    add or change files."""
    with serve_site(SITES / name, tmp_path / f"site-{name}") as site:
        yield site
