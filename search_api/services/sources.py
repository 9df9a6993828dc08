"""The source registry: add, change, remove and preview sources, with the same rules for the
API, the agency web pages and the command line.

`search_api` never imports `crawlers`: a preview runs `python -m crawlers.preview` as a child
process (services/crawls.py starts crawls the same way).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from typing import Any

from pydantic import ValidationError

from search_api.domain.sources import (
    SourceSpec,
    format_validation_error,
    missing_secrets,
    parse_source,
)
from search_api.errors import Forbidden, InvalidBody, TradepointError
from search_api.services.access import check_owner
from search_api.services.crawls import KILL_GRACE_SECONDS
from search_api.services.health import HISTORY_RUNS, health_from_runs, source_health
from search_api.services.records import CURATED_PREFIX
from search_api.settings import Settings
from search_api.store import Store
from search_api.store.keys import Principal

log = logging.getLogger(__name__)

PREVIEW_MAX_RECORDS = 100


def validate_spec(data: Any) -> SourceSpec:
    if not isinstance(data, dict):
        raise InvalidBody("body: expected a source (a JSON object)")
    try:
        spec = parse_source(data)
    except ValidationError as exc:
        raise InvalidBody(format_validation_error(exc).replace("\n", "; ")) from exc
    for n, url in enumerate(spec.start_urls):
        if not url.lower().startswith(("http://", "https://")):
            raise InvalidBody(
                f"start_urls.{n}: {url!r} is not an http(s) URL; local files are only for "
                "sources the operator adds with `tradepoint sources add`"
            )
    return spec


def check_secrets(principal: Principal, spec: SourceSpec) -> None:
    """Only an admin's (or the operator's) sources may use the operator's secrets: an agency's
    source could otherwise send TRADEPOINT_SECRET_* to a host of its choosing."""
    names = spec.secrets()
    if names and not principal.is_admin:
        refs = ", ".join(f"${{{n}}}" for n in names)
        raise Forbidden(
            f"secrets ({refs}) are the operator's: only an admin key may add a source that "
            "uses them"
        )


def check_new_owner(principal: Principal, spec: SourceSpec) -> SourceSpec:
    """An agency's new source is its own; only an admin may create one for someone else."""
    check_secrets(principal, spec)
    if spec.owner is None and not principal.is_admin:
        return spec.model_copy(update={"owner": principal.name})
    if not principal.may_edit(spec.owner):
        raise Forbidden(
            f"owner: agency {principal.name!r} may create sources only for itself, "
            f"not for {spec.owner!r}"
        )
    return spec


def create_source(store: Store, principal: Principal, data: Any) -> SourceSpec:
    spec = check_new_owner(principal, validate_spec(data))
    if spec.id.startswith(CURATED_PREFIX):
        raise InvalidBody(
            f"id: ids starting with {CURATED_PREFIX!r} are reserved for curated records"
        )
    store.add_source(spec)
    return spec


def update_source(
    store: Store, principal: Principal, source_id: str, changes: Any, *, replace: bool = False
) -> SourceSpec:
    """Apply a partial update (PATCH) or a whole new spec (`replace`, the web edit form)."""
    if not isinstance(changes, dict):
        raise InvalidBody("body: expected an object of fields to change")
    current = store.get_source(source_id)
    check_owner(principal, current.owner, f"source {source_id!r}")
    if changes.get("id", source_id) != source_id:
        raise InvalidBody("id: a source's id cannot change; add a new source instead")
    data = {} if replace else current.model_dump(mode="json", exclude_none=True)
    for key, value in changes.items():
        if value is None:
            data.pop(key, None)  # null resets a field to its default
        else:
            data[key] = value
    data["id"] = source_id
    if "owner" not in data and not principal.is_admin:
        data["owner"] = current.owner
    spec = validate_spec(data)
    # Even keeping the same references: new start URLs would send the secrets elsewhere.
    check_secrets(principal, spec)
    if spec.owner != current.owner and not principal.may_edit(spec.owner):
        raise Forbidden(f"owner: agency {principal.name!r} cannot give a source to {spec.owner!r}")
    store.add_source(spec, replace=True)
    return spec


def delete_source(store: Store, principal: Principal, source_id: str) -> None:
    spec = store.get_source(source_id)
    check_owner(principal, spec.owner, f"source {source_id!r}")
    # Its records stay: they are facts with provenance, searchable until an admin removes them.
    store.remove_source(source_id)


def source_view(store: Store, spec: SourceSpec) -> dict[str, Any]:
    # The spec holds `${NAME}` references only; what is missing is named, never a value.
    return {
        **spec.model_dump(mode="json"),
        "health": source_health(store, spec.id),
        "missing_secrets": missing_secrets(spec),
    }


def source_state(store: Store, spec: SourceSpec) -> str:
    """One word (or phrase) for a source's state: needs TRADEPOINT_SECRET_X, disabled, ok,
    failing, never_run."""
    missing = missing_secrets(spec)
    if missing:
        return "needs " + ", ".join(missing)
    if not spec.enabled:
        return "disabled"
    # The runs say it: the record counts and changed pages of source_health are not needed.
    return str(health_from_runs(store.list_runs(spec.id, limit=HISTORY_RUNS))["state"])


def preview_budget(settings: Settings) -> int:
    """Seconds a preview crawl may take: a few slow pages, never a full crawl's allowance."""
    return min(
        settings.crawl_timeout, 30 + settings.download_timeout * (settings.preview_max_pages + 1)
    )


def preview_source(settings: Settings, spec: SourceSpec) -> dict[str, Any]:
    """Crawl a few pages of a proposed source in a child process; nothing is written."""
    timeout = preview_budget(settings) + KILL_GRACE_SECONDS
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "crawlers.preview"],
            input=spec.model_dump_json(),
            capture_output=True,
            text=True,
            timeout=timeout,
            env=settings.child_env(),
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TradepointError(
            f"the preview took longer than {timeout}s; check that the start URLs answer",
            code="preview_timeout",
            status_code=504,
        ) from exc
    try:
        out = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:
        log.error("preview failed (exit %s): %s", proc.returncode, proc.stderr[-2000:])
        raise TradepointError(
            "the preview process failed; it was logged", code="preview_failed", status_code=502
        ) from exc
    return {**out, "warnings": preview_warnings(settings, spec, out)}


def preview_warnings(settings: Settings, spec: SourceSpec, out: dict[str, Any]) -> list[str]:
    warnings = []
    count = out.get("count", len(out.get("records", [])))
    if count == 0:
        warnings.append("no records found: check the start URLs, format and selectors")
    elif count < spec.min_items:
        warnings.append(
            f"{count} records in the first pages, fewer than min_items={spec.min_items}; "
            "a full crawl may find more, or fail"
        )
    if out.get("pages", 0) >= settings.preview_max_pages:
        warnings.append(
            f"the preview stopped after {settings.preview_max_pages} pages; a crawl reads more"
        )
    if out.get("failed"):
        warnings.append(f"{out['failed']} items could not become records (see errors)")
    if out.get("unmapped"):
        warnings.append("fields found but not mapped: " + ", ".join(sorted(out["unmapped"])))
    return warnings


def fields_filled(records: list[dict[str, Any]]) -> dict[str, int]:
    """How many of `records` have each field, most filled first (provenance left out)."""
    counts: dict[str, int] = {}
    skip = {"id", "kind", "source_id", "source_url", "withdrawn", "version", "curated_by"}
    for record in records:
        for name, value in record.items():
            if name not in skip and value not in (None, "", [], {}):
                counts[name] = counts.get(name, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def check_source(settings: Settings, spec: SourceSpec) -> dict[str, Any]:
    """Fetch a source live as a preview (nothing written): what `tradepoint sources check`
    reports for it. `ok` is False when it needs a secret, yields nothing, or fails."""
    report: dict[str, Any] = {"source_id": spec.id, "format": spec.format, "kind": spec.kind}
    missing = missing_secrets(spec)
    if missing:
        return {**report, "ok": False, "verdict": "needs " + ", ".join(missing), "errors": []}
    try:
        out = preview_source(settings, spec)
    except TradepointError as exc:
        return {**report, "ok": False, "verdict": f"failed: {exc.message}", "errors": []}
    records = out.get("records", [])
    count = int(out.get("count", len(records)))
    errors = list(out.get("errors", []))
    if count == 0:
        verdict = "BROKEN: no records"
    elif errors:
        verdict = f"works, with {len(errors)} error(s)"
    else:
        verdict = "works"
    return {
        **report,
        "ok": count > 0,
        "verdict": verdict,
        "items": count,
        "pages": out.get("pages", 0),
        "failed": out.get("failed", 0),
        "sample": len(records),
        "fields_filled": fields_filled(records),
        "unmapped": out.get("unmapped", {}),
        "errors": errors,
        "warnings": out.get("warnings", []),
    }


def check_sources(settings: Settings, specs: list[SourceSpec]) -> list[dict[str, Any]]:
    return [check_source(settings, spec) for spec in specs]
