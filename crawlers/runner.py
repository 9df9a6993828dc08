"""`python -m crawlers.runner SOURCE --run-id N`: one crawl run, in its own child process.

`search_api.services.crawls` records the run, starts this process and enforces the time limit.
Here `main()` crawls with Scrapy, then (reactor stopped) applies the post-run assertions and
writes everything in one go, so a failed or killed run changes no record.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
import threading
from typing import Any, TextIO

from crawlers.secrets import Secrets
from search_api.domain.records import PROVENANCE_FIELDS, AnyRecord, filled
from search_api.domain.sources import SECRET_ENV_PREFIX, SourceSpec, source_formats
from search_api.services.crawls import KILL_GRACE_SECONDS, CrawlOutcome
from search_api.settings import Settings
from search_api.store import RunStats, Store

log = logging.getLogger(__name__)


def finalise_run(store: Store, spec: SourceSpec, run_id: int, collector: object) -> CrawlOutcome:
    """Post-run assertions, then write records (all or nothing) and the run's outcome.

    The assertions are the source's own (`min_items`, `max_drop_ratio`, `drop_min_previous`,
    `withdraw_after_misses`): a run yielding far fewer records than the last one is suspect (a
    redesigned site, a blocked crawler), so it fails and changes nothing, as zavod's do."""
    from crawlers.collector import RunCollector

    assert isinstance(collector, RunCollector)
    stats = RunStats(
        pages=collector.pages,
        items_failed=collector.failed,
        errors=list(collector.errors),
        notes=list(collector.notes),
    )
    count = len(collector.records)
    previous = next(
        (
            r
            for r in store.list_runs(spec.id, limit=20)
            if r.status == "succeeded" and r.id != run_id
        ),
        None,
    )
    prev_count = (
        previous.items_new + previous.items_changed + previous.items_unchanged if previous else 0
    )
    message: str | None = None
    if collector.missing_secret:
        message = (
            f"needs {SECRET_ENV_PREFIX}{collector.missing_secret}, which is not set; "
            "nothing changed"
        )
    elif count < spec.min_items:
        message = f"yielded {count} records, fewer than min_items={spec.min_items}; nothing changed"
    elif (
        spec.max_drop_ratio < 1
        and prev_count >= max(spec.drop_min_previous, 1)
        and count < prev_count * (1 - spec.max_drop_ratio)
    ):
        message = (
            f"yielded {count} records, far fewer than the previous run's {prev_count}; "
            f"nothing changed (max_drop_ratio={spec.max_drop_ratio:g})"
        )
    if message:
        store.finish_run(run_id, "failed", stats, message)
        return CrawlOutcome(spec.id, run_id, "failed", message)
    records = list(collector.records.values())
    amends = source_formats()[spec.format].amends_stored
    if amends is not None and amends(spec):
        records = amend_stored(store, records)
    up = store.upsert_records(records)
    stats.items_new, stats.items_changed, stats.items_unchanged = up.new, up.changed, up.unchanged
    withdrawn = 0
    if not collector.truncated and spec.withdraw_after_misses > 0:
        withdrawn = store.mark_missing(spec.id, set(collector.records), spec.withdraw_after_misses)
    parts = [f"{count} records: {up.new} new, {up.changed} changed, {up.unchanged} unchanged"]
    if withdrawn:
        parts.append(f"{withdrawn} withdrawn")
    if collector.truncated:
        parts.append("stopped at a page or time limit, so no record was counted as missing")
    if collector.notes:
        noted = len(collector.notes) + collector.notes_dropped
        parts.append(f"{noted} values repaired or inferred (see notes)")
    if collector.unmapped:
        parts.append("unmapped: " + ", ".join(sorted(collector.unmapped)))
    message = "; ".join(parts)
    store.finish_run(run_id, "succeeded", stats, message)
    return CrawlOutcome(spec.id, run_id, "succeeded", message)


def amend_stored(store: Store, records: list[AnyRecord]) -> list[AnyRecord]:
    """Records that amend others (a source with `api.newest`: an addendum, a corrigendum) keep
    what the stored record said where the amendment is silent: an addendum that names no HS
    code leaves the notification's codes in place, also when the notification itself has
    left the source's window of recent items. Provenance is this run's, as for any record."""
    stored = store.get_records([r.id for r in records])
    out: list[AnyRecord] = []
    for record in records:
        old = stored.get(record.id)
        if old is None or old.kind != record.kind:
            out.append(record)
            continue
        fresh = old.model_copy(update={k: getattr(record, k) for k in PROVENANCE_FIELDS})
        out.append(filled(fresh, record, keep=PROVENANCE_FIELDS))
    return out


def end_when_overrun(store: Store, run_id: int, limit: float) -> None:
    """End this crawl process once it has run `limit` seconds, recording the run as failed.

    The process that started the crawl enforces the limit too, but a crawl started through the
    API outlives a restart of the API, and then nobody else would."""

    def overrun() -> None:
        try:
            if store.get_run(run_id).status == "running":
                store.finish_run(
                    run_id,
                    "failed",
                    RunStats(),
                    f"stopped itself after exceeding the time limit of {limit:g}s",
                )
        except Exception:
            log.exception("could not record the end of run %s", run_id)
        finally:
            os._exit(3)

    timer = threading.Timer(limit, overrun)
    timer.daemon = True
    timer.start()
    # Should Python itself be stuck (an extension holding the GIL), SIGALRM's default action
    # still ends the process; the next run of the source then finds this one stale.
    signal.alarm(math.ceil(limit) + 15)


def show_progress(collector: object, out: TextIO, every: float = 3.0) -> threading.Event:
    """Print pages, records and errors every few seconds on one terminal line, until the
    returned event is set; a long crawl is otherwise silent for minutes."""
    from crawlers.collector import RunCollector

    assert isinstance(collector, RunCollector)
    done = threading.Event()

    def report() -> None:
        shown = False
        while not done.wait(every):
            out.write(
                f"\r  {collector.spec.id}: {collector.pages} pages, "
                f"{len(collector.records)} records, {len(collector.errors)} errors"
            )
            out.flush()
            shown = True
        if shown:
            out.write("\n")

    threading.Thread(target=report, name="progress", daemon=True).start()
    return done


def prepare_crawl(settings: Settings, spec: SourceSpec) -> tuple[type, object, dict[str, Any]]:
    """The spider class, the collector it fills and the Scrapy settings of one crawl of `spec`.

    The one crawl set-up: this process runs it with `crawl_in_this_process`; the tests run the
    same on a reactor they keep running (a reactor cannot be restarted in one process)."""
    from crawlers.collector import RunCollector
    from crawlers.settings import scrapy_settings
    from crawlers.spiders.base import SourceSpider

    return SourceSpider, RunCollector(spec), scrapy_settings(settings)


def run_spider(settings: Settings, options: dict[str, Any], spider_cls: type, **kw: Any) -> None:
    """Run one spider with Scrapy settings `options` in this process (starts and stops the
    reactor, so once per process); `kw` goes to the spider."""
    from scrapy.crawler import CrawlerProcess

    process = CrawlerProcess(options)
    if settings.log_level.upper() != "DEBUG":
        # Scrapy's INFO lines (stats dumps, middleware lists) drown the run's own outcome;
        # its logging setup (above) has just set them to DEBUG.
        for name in ("scrapy", "twisted", "py.warnings"):
            logging.getLogger(name).setLevel(logging.WARNING)
    process.crawl(spider_cls, **kw)
    process.start()


def crawl_in_this_process(
    settings: Settings, spec: SourceSpec, *, progress: TextIO | None = None
) -> object:
    """Run the Scrapy crawl here and return the collector. Starts (and stops) the reactor.
    With `progress` (a terminal), counts are shown there as the crawl goes."""
    spider_cls, collector, crawl_settings = prepare_crawl(settings, spec)
    done = show_progress(collector, progress) if progress is not None else None
    try:
        run_spider(settings, crawl_settings, spider_cls, collector=collector)
    finally:
        if done is not None:
            done.set()
    return collector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crawlers.runner")
    parser.add_argument("source_id")
    parser.add_argument("--run-id", type=int, required=True)
    args = parser.parse_args(argv)
    settings = Settings()
    from search_api.logs import setup_logging

    setup_logging(settings)
    store = Store(settings.sqlalchemy_url)
    spec = store.get_source(args.source_id)
    # A little inside the starting process's limit, so that the run says what happened.
    end_when_overrun(store, args.run_id, settings.crawl_timeout + KILL_GRACE_SECONDS - 5)
    try:
        # On a terminal (tradepoint crawl), not in logs (the scheduler, the API).
        shown = sys.stderr if sys.stderr.isatty() else None
        collector = crawl_in_this_process(settings, spec, progress=shown)
    except Exception as exc:
        log.exception("crawl failed", extra={"source": spec.id, "run": args.run_id})
        message = Secrets.every_one().mask(f"{type(exc).__name__}: {exc}")
        store.finish_run(args.run_id, "failed", RunStats(), message)
        return 1
    outcome = finalise_run(store, spec, args.run_id, collector)
    log.info(
        "run %s %s: %s", args.run_id, outcome.status, outcome.message, extra={"source": spec.id}
    )
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main())
