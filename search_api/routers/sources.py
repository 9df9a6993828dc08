"""The source registry over the API: list, add, change, remove, crawl now, runs, preview.

Reads are public; writes need an agency key (its own sources) or an admin key. The functions
below the router are shared with the agency web pages, so both apply the same rules.

`search_api` never imports `crawlers`: a crawl or a preview runs `python -m crawlers.…` as a
child process, as the CLI does.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Response
from pydantic import ValidationError

from search_api.auth import Writer, check_owner
from search_api.deps import get_settings, get_store
from search_api.domain.sources import SourceSpec, format_validation_error
from search_api.errors import Forbidden, InvalidSource, TradepointError
from search_api.health import run_dict, source_health
from search_api.settings import Settings
from search_api.store import RunStats, Store
from search_api.store.keys import Principal

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1/sources", tags=["sources"])

KILL_GRACE_SECONDS = 30
PREVIEW_MAX_RECORDS = 100
# Records added by hand live under this source id prefix (see routers/records_write.py); a
# registered source of that name would withdraw them after a few runs.
RESERVED_PREFIX = "curated_"
# Settings a crawl or preview child process must share with the API process that started it.
CHILD_SETTINGS = (
    "data_dir",
    "database_url",
    "allow_private_hosts",
    "user_agent",
    "contact_url",
    "crawl_concurrency_per_host",
    "crawl_delay",
    "crawl_timeout",
    "crawl_max_page_bytes",
    "crawl_max_pages",
    "download_timeout",
    "preview_max_pages",
    "log_level",
    "log_json",
)


# --------------------------------------------------------------------------- shared logic


def invalid(message: str) -> InvalidSource:
    # Same code as the app's RequestValidationError handler: one shape for every bad body.
    return InvalidSource(message, code="invalid_parameter")


def validate_spec(data: Any) -> SourceSpec:
    if not isinstance(data, dict):
        raise invalid("body: expected a source (a JSON object)")
    try:
        spec = SourceSpec.model_validate(data)
    except ValidationError as exc:
        raise invalid(format_validation_error(exc).replace("\n", "; ")) from exc
    for n, url in enumerate(spec.start_urls):
        if not url.lower().startswith(("http://", "https://")):
            raise invalid(
                f"start_urls.{n}: {url!r} is not an http(s) URL; local files are only for "
                "sources the operator adds with `tradepoint sources add`"
            )
    return spec


def check_new_owner(principal: Principal, spec: SourceSpec) -> SourceSpec:
    """An agency's new source is its own; only an admin may create one for someone else."""
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
    if spec.id.startswith(RESERVED_PREFIX):
        raise invalid(f"id: ids starting with {RESERVED_PREFIX!r} are reserved for curated records")
    store.add_source(spec)
    return spec


def update_source(
    store: Store, principal: Principal, source_id: str, changes: Any, *, replace: bool = False
) -> SourceSpec:
    """Apply a partial update (PATCH) or a whole new spec (`replace`, the web edit form)."""
    if not isinstance(changes, dict):
        raise invalid("body: expected an object of fields to change")
    current = store.get_source(source_id)
    check_owner(principal, current.owner, f"source {source_id!r}")
    if changes.get("id", source_id) != source_id:
        raise invalid("id: a source's id cannot change; add a new source instead")
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
    return {**spec.model_dump(mode="json"), "health": source_health(store, spec.id)}


def child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in CHILD_SETTINGS:
        key = f"TRADEPOINT_{name.upper()}"
        value = getattr(settings, name)
        if value is None:
            env.pop(key, None)
        elif isinstance(value, bool):
            env[key] = "1" if value else "0"
        elif name == "data_dir":
            env[key] = str(settings.data_dir.resolve())
        else:
            env[key] = str(value)
    return env


def start_crawl(settings: Settings, store: Store, source_id: str) -> int:
    """Record a run and start its crawl process; return the run id without waiting."""
    store.get_source(source_id)
    limit = settings.crawl_timeout + KILL_GRACE_SECONDS
    run_id = store.start_run(source_id, stale_after=timedelta(seconds=limit + KILL_GRACE_SECONDS))
    cmd = [sys.executable, "-m", "crawlers.runner", source_id, "--run-id", str(run_id)]
    try:
        # A session of its own: the crawl survives a restart of the server that started it.
        proc = subprocess.Popen(
            cmd, env=child_env(settings), stdin=subprocess.DEVNULL, start_new_session=True
        )
    except OSError as exc:
        store.finish_run(run_id, "failed", RunStats(), f"cannot start the crawl process: {exc}")
        raise TradepointError("cannot start the crawl process", status_code=503) from exc
    store.set_run_pid(run_id, proc.pid)
    threading.Thread(
        target=_watch, args=(store, run_id, proc, limit), name=f"crawl-{run_id}", daemon=True
    ).start()
    return run_id


def _watch(store: Store, run_id: int, proc: subprocess.Popen[bytes], limit: int) -> None:
    """Reap the child, enforce the time limit, and fail the run if the child could not."""
    try:
        code: int | None = proc.wait(timeout=limit)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        code = None
    try:
        if store.get_run(run_id).status == "running":
            message = (
                f"killed after exceeding the time limit of {limit}s"
                if code is None
                else f"crawl process exited with status {code} before finishing"
            )
            store.finish_run(run_id, "failed", RunStats(), message)
    except Exception:
        log.exception("could not record the end of run %s", run_id)


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
            env=child_env(settings),
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


# --------------------------------------------------------------------------- routes

StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]


@router.get("", summary="Registered sources with their crawl health")
def list_sources(
    store: StoreDep,
    owner: Annotated[str | None, Query(max_length=80, description="Only this agency's")] = None,
) -> dict[str, Any]:
    specs = [s for s in store.list_sources() if owner is None or s.owner == owner]
    return {"total": len(specs), "items": [source_view(store, s) for s in specs]}


@router.post("", status_code=201, summary="Add a source (agency: owned by the caller)")
def post_source(
    spec: Annotated[SourceSpec, Body()], principal: Writer, store: StoreDep, response: Response
) -> dict[str, Any]:
    created = create_source(store, principal, spec.model_dump(mode="json", exclude_none=True))
    response.headers["Location"] = f"/api/v1/sources/{created.id}"
    return source_view(store, created)


@router.post("/preview", summary="Records a proposed source would yield; writes nothing")
def post_preview(
    spec: Annotated[SourceSpec, Body()], principal: Writer, settings: SettingsDep
) -> dict[str, Any]:
    checked = validate_spec(spec.model_dump(mode="json", exclude_none=True))
    return preview_source(settings, check_new_owner(principal, checked))


@router.get("/{source_id}", summary="A source's spec and crawl health")
def get_source(source_id: str, store: StoreDep) -> dict[str, Any]:
    return source_view(store, store.get_source(source_id))


@router.patch("/{source_id}", summary="Change some fields of a source")
def patch_source(
    source_id: str,
    changes: Annotated[dict[str, Any], Body(description="Fields to change; null resets")],
    principal: Writer,
    store: StoreDep,
) -> dict[str, Any]:
    return source_view(store, update_source(store, principal, source_id, changes))


@router.delete("/{source_id}", status_code=204, summary="Remove a source (its records stay)")
def remove_source(source_id: str, principal: Writer, store: StoreDep) -> Response:
    delete_source(store, principal, source_id)
    return Response(status_code=204)


@router.post("/{source_id}/crawl", status_code=202, summary="Crawl a source now")
def crawl_source(
    source_id: str, principal: Writer, store: StoreDep, settings: SettingsDep, response: Response
) -> dict[str, Any]:
    spec = store.get_source(source_id)
    check_owner(principal, spec.owner, f"source {source_id!r}")
    run_id = start_crawl(settings, store, source_id)
    response.headers["Location"] = f"/api/v1/sources/{source_id}/runs"
    return {"run_id": run_id, "source_id": source_id, "status": "running"}


@router.get("/{source_id}/runs", summary="A source's runs, newest first, with stats and errors")
def get_runs(
    source_id: str, store: StoreDep, limit: Annotated[int, Query(ge=1, le=200)] = 20
) -> dict[str, Any]:
    store.get_source(source_id)
    runs = store.list_runs(source_id, limit=limit)
    return {"total": len(runs), "items": [run_dict(r) for r in runs]}
