"""`tradepoint`: the command line.

Commands that need the crawlers or the scheduler register themselves through the
`tradepoint.commands` entry point group, so this module never imports those packages.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

import yaml
from pydantic import ValidationError

from search_api import __version__
from search_api.cli.common import DATA_DIR_NOTE, add_server_options, open_store
from search_api.domain.sources import SourceSpec, format_validation_error, parse_source
from search_api.domain.yaml_input import YamlInputError, load_yaml
from search_api.errors import CliError, TradepointError
from search_api.logs import setup_logging
from search_api.settings import Settings
from search_api.store import Store

Handler = Callable[[argparse.Namespace, Settings], int]


def load_source_file(path: Path) -> list[SourceSpec]:
    """Read one source (a mapping) or several (a list, or `sources:`) from YAML or JSON."""
    try:
        raw = load_yaml(path.read_bytes())
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror}") from exc
    except YamlInputError as exc:
        raise CliError(f"{path}: not a readable YAML or JSON file: {exc}") from exc
    items = raw.get("sources", [raw]) if isinstance(raw, dict) else raw
    if not isinstance(items, list) or not items:
        raise CliError(f"{path}: expected a source (a mapping) or a list of sources")
    specs = []
    for n, item in enumerate(items, 1):
        if not isinstance(item, dict):
            raise CliError(f"{path}: source #{n} is not a mapping")
        try:
            specs.append(parse_source(item))
        except ValidationError as exc:
            name = item.get("id", f"#{n}")
            # one line, whatever the number of problems: a message, not a report to scroll
            problems = format_validation_error(exc).replace("\n", "; ")
            raise CliError(f"{path}: source {name} is invalid: {problems}") from exc
    ids = [s.id for s in specs]
    twice = sorted({i for i in ids if ids.count(i) > 1})
    if twice:
        raise CliError(f"{path}: source id {twice[0]} appears twice")
    return specs


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    # Imported when used: the web app's imports (FastAPI, templates) would slow every command.
    from search_api.cli.serve import serve

    return serve(args, settings)


def cmd_reindex(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.search import create_backend
    from search_api.search.indexer import reindex

    count = reindex(open_store(settings), create_backend(settings))
    print(f"reindexed {count} records")
    return 0


def cmd_sources_add(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    specs = load_source_file(Path(args.file))
    store.add_sources(specs, replace=args.replace)  # all or none
    for spec in specs:
        print(f"added source {spec.id} ({spec.format}, {spec.kind})")
    return 0


def cmd_sources_import(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    specs = load_source_file(Path(args.file))
    store.add_sources(specs, replace=True)
    print(f"imported {len(specs)} source(s): {', '.join(s.id for s in specs)}")
    return 0


def cmd_sources_list(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.services.sources import source_state

    store = open_store(settings)
    specs = store.list_sources()
    if args.json:
        print(
            json.dumps(
                [
                    {
                        **s.model_dump(mode="json", exclude_none=True),
                        "state": source_state(store, s),
                    }
                    for s in specs
                ],
                indent=2,
            )
        )
        return 0
    if not specs:
        print("no sources; add one with `tradepoint sources add FILE`")
    for spec in specs:
        runs = store.list_runs(spec.id, limit=1)
        last = f"{runs[0].status} {runs[0].started_at:%Y-%m-%d %H:%M}" if runs else "never run"
        state = source_state(store, spec)
        print(f"{spec.id:40} {spec.format:10} {spec.kind:12} {last:22} {state}")
    return 0


def cmd_sources_check(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.services.sources import check_sources

    store = open_store(settings)
    if args.source_ids:
        specs = [store.get_source(source_id) for source_id in args.source_ids]
    else:
        specs = [s for s in store.list_sources() if s.enabled]
    if not specs:
        raise CliError("sources check: no source to check (`tradepoint catalogue` adds them)")
    reports = check_sources(settings, specs)
    if args.json:
        print(json.dumps(reports, indent=2, ensure_ascii=False))
    else:
        for report in reports:
            print(format_check(report))
    return 0 if all(r["ok"] for r in reports) else 1


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def format_check(report: dict[str, object]) -> str:
    """A source's check as lines for people."""
    lines = [f"{report['source_id']}: {report['verdict']}"]
    if report.get("items") is not None:
        lines.append(
            f"  items read: {report['items']} in {report['pages']} page(s); "
            f"failed: {report['failed']}"
        )
    filled = report.get("fields_filled") or {}
    if isinstance(filled, dict) and filled:
        sample = report.get("sample")
        parts = [f"{name} {count}/{sample}" for name, count in filled.items()]
        lines.append("  fields filled: " + ", ".join(parts))
    errors = report.get("errors") or []
    if isinstance(errors, list) and "items" in report:
        lines.append(f"  errors: {len(errors)}")
        for err in errors[:5]:
            url = str(err.get("url") or "-")
            # API URLs carry long queries: the message says what matters
            message = str(err.get("message") or "").replace(url, "it")
            lines.append(f"    {_shorten(url, 100)}: {_shorten(message, 300)}")
        if len(errors) > 5:
            lines.append(f"    … {len(errors) - 5} more")
    return "\n".join(lines)


def cmd_sources_show(args: argparse.Namespace, settings: Settings) -> int:
    store = open_store(settings)
    spec = store.get_source(args.source_id)
    print(yaml.safe_dump(spec.model_dump(mode="json", exclude_none=True), sort_keys=False), end="")
    print(f"records: {store.count_records(spec.id)}")
    for run in store.list_runs(spec.id, limit=5):
        print(
            f"run {run.id}: {run.status} {run.started_at:%Y-%m-%d %H:%M} pages={run.pages} "
            f"new={run.items_new} changed={run.items_changed} "
            f"unchanged={run.items_unchanged} failed={run.items_failed} "
            f"errors={len(run.errors or [])}"
        )
    return 0


def cmd_sources_remove(args: argparse.Namespace, settings: Settings) -> int:
    open_store(settings).remove_source(args.source_id)
    print(f"removed source {args.source_id}; its records stay in the store and the index")
    return 0


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.services.watch import run_watch

    open_store(settings)  # migrated before the child process reads it
    counts = run_watch(settings)
    print(
        f"watched {counts.get('records', 0)} records on {counts.get('pages', 0)} pages: "
        f"{counts.get('changed', 0)} changed now, {counts.get('still_changed', 0)} changed "
        f"before, {counts.get('unchanged', 0)} unchanged, {counts.get('baseline', 0)} read "
        f"for the first time (baseline), {counts.get('error', 0)} unreadable"
    )
    return 0


def cmd_keys_create(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.store.keys import agency_id, create_key

    # `--name` is an id (kenya_epc) or a display name ("Kenya Export Promotion Council").
    key_id = args.id or agency_id(args.name)
    display = args.name.strip() if args.name.strip() != key_id else None
    key = create_key(open_store(settings), key_id, args.role, display)
    print(key)
    who = f"{key_id} ({display})" if display else key_id
    print(
        f"created {args.role} key for {who}; it is shown only now, store it safely",
        file=sys.stderr,
    )
    return 0


def cmd_keys_list(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.store.keys import list_keys

    for row in list_keys(open_store(settings)):
        used = f"{row.last_used_at:%Y-%m-%d %H:%M}" if row.last_used_at else "never used"
        state = " [revoked]" if row.revoked else ""
        who = f"{row.name} ({row.display_name})" if row.display_name else row.name
        print(f"{row.id:5} {who:40} {row.role:7} {row.hint}…  {used}{state}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.store.keys import revoke_key

    revoke_key(open_store(settings), args.key_id)
    print(f"revoked key {args.key_id}")
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.store.migrations import head_revision

    store = Store(settings.sqlalchemy_url)
    action = store.migrate()
    store.close()
    print(f"{_db_name(settings)}: {action}, at revision {head_revision()} (head)")
    return 0


def cmd_db_current(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    from search_api.store.migrations import current_revision, head_revision

    url, head = settings.sqlalchemy_url, head_revision()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        rev = None  # do not create an empty file just to look
    else:
        engine = create_engine(url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                rev = current_revision(conn)
        finally:
            engine.dispose()
    print(f"{_db_name(settings)}: revision {rev or 'none'}, head {head}")
    if rev != head:
        print("run `tradepoint db upgrade` to bring it up to date", file=sys.stderr)
        return 1
    return 0


def cmd_db_revision(args: argparse.Namespace, settings: Settings) -> int:
    from search_api.store.migrations import write_revision

    for path in write_revision(args.message):
        print(f"wrote {path}: read it, edit it, and add a test if it moves data")
    return 0


def _db_name(settings: Settings) -> str:
    from sqlalchemy.engine import make_url

    return make_url(settings.sqlalchemy_url).render_as_string(hide_password=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradepoint", description="Tradepoint: export market information service."
    )
    parser.add_argument("--version", action="version", version=f"tradepoint {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser(
        "serve",
        help="run the HTTP API and web pages",
        description="Serve the API and the web pages of the data dir." + DATA_DIR_NOTE,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_server_options(p)
    p.set_defaults(handler=cmd_serve)

    p = sub.add_parser("reindex", help="rebuild the search index from the system of record")
    p.set_defaults(handler=cmd_reindex)

    sources = sub.add_parser("sources", help="manage the source registry")
    ssub = sources.add_subparsers(dest="sources_command", required=True, metavar="ACTION")
    p = ssub.add_parser("add", help="add a source from a YAML/JSON file")
    p.add_argument("file")
    p.add_argument("--replace", action="store_true", help="replace a source with the same id")
    p.set_defaults(handler=cmd_sources_add)
    p = ssub.add_parser("import", help="add or replace every source in a file")
    p.add_argument("file")
    p.set_defaults(handler=cmd_sources_import)
    p = ssub.add_parser("list", help="list sources with their last run")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sources_list)
    p = ssub.add_parser(
        "check",
        help="fetch sources live (a preview: nothing is written) and report per source the "
        "items read, the fields filled and the errors",
    )
    p.add_argument("source_ids", nargs="*", metavar="ID", help="default: every enabled source")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_sources_check)
    p = ssub.add_parser("show", help="show a source, its record count and recent runs")
    p.add_argument("source_id")
    p.set_defaults(handler=cmd_sources_show)
    p = ssub.add_parser("remove", help="remove a source from the registry")
    p.add_argument("source_id")
    p.set_defaults(handler=cmd_sources_remove)

    p = sub.add_parser(
        "watch",
        help="read the official pages of curated finance and requirement records now and mark "
        "those that changed materially since they were checked",
    )
    p.set_defaults(handler=cmd_watch)

    keys = sub.add_parser("keys", help="manage API keys for agencies and admins")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    p = ksub.add_parser("create", help="create a key and print it (shown only once)")
    p.add_argument("--role", choices=["agency", "admin"], required=True)
    p.add_argument(
        "--name",
        required=True,
        help='agency id or name, e.g. kenya_epc or "Kenya Export Promotion Council" '
        "(the id is then derived from it: kenya_export_promotion_council)",
    )
    p.add_argument("--id", help="the agency's id, when it should not be derived from --name")
    p.set_defaults(handler=cmd_keys_create)
    p = ksub.add_parser("list", help="list keys (never the keys themselves)")
    p.set_defaults(handler=cmd_keys_list)
    p = ksub.add_parser("revoke", help="revoke a key by its number")
    p.add_argument("key_id", type=int)
    p.set_defaults(handler=cmd_keys_revoke)

    db = sub.add_parser("db", help="manage the database schema (Alembic migrations)")
    dsub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    p = dsub.add_parser("upgrade", help="create or migrate the schema to the latest revision")
    p.set_defaults(handler=cmd_db_upgrade)
    p = dsub.add_parser("current", help="show the schema revision (exit 1 if not the latest)")
    p.set_defaults(handler=cmd_db_current)
    p = dsub.add_parser("revision", help="developers: write a migration for changed tables")
    p.add_argument("-m", "--message", required=True, help="what changed, e.g. 'add x to y'")
    p.set_defaults(handler=cmd_db_revision)

    for ep in entry_points(group="tradepoint.commands"):
        ep.load()(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(f"tradepoint: invalid settings:\n{format_validation_error(exc)}", file=sys.stderr)
        return 2
    setup_logging(settings)
    try:
        return int(args.handler(args, settings) or 0)
    except CliError as exc:
        print(f"tradepoint: {exc}", file=sys.stderr)
        return 2
    except TradepointError as exc:
        print(f"tradepoint: {exc.message}", file=sys.stderr)
        return 2 if exc.status_code < 500 else 1
    except KeyboardInterrupt:
        return 130
