"""The change watch of curated records' official pages, started as a child process
(`python -m crawlers.watch`, as crawls are): search_api never imports the crawlers."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from search_api.errors import TradepointError
from search_api.services.crawls import KILL_GRACE_SECONDS
from search_api.settings import Settings

log = logging.getLogger(__name__)

WATCH_MODULE = "crawlers.watch"
WATCHED_KINDS = ("finance", "requirement")


def run_watch(settings: Settings, kinds: tuple[str, ...] = WATCHED_KINDS) -> dict[str, int]:
    """Read every watched record's official page now; counts of what was found
    (records, pages, baseline, unchanged, changed, still_changed, error)."""
    limit = settings.crawl_timeout + KILL_GRACE_SECONDS
    try:
        proc = subprocess.run(
            [sys.executable, "-m", WATCH_MODULE, *kinds],
            capture_output=True,
            text=True,
            timeout=limit,
            env=settings.child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TradepointError(f"the page watch took longer than {limit}s", status_code=504) from exc
    try:
        counts: dict[str, int] = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        log.error("page watch failed (exit %s): %s", proc.returncode, proc.stderr[-2000:])
        raise TradepointError("the page watch failed; it was logged", status_code=502) from exc
    return counts
