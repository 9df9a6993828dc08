"""The built-in real sources: one reviewed YAML file per source in this directory, validated by
the same model as any source (`parse_source`), each with its own assertions (`min_items`,
`max_drop_ratio`, `withdraw_after_misses`) and a `tested_with` line saying how its test gets a
response to crawl (`real response <file>` or `documented shape`)."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from search_api.domain.sources import SourceSpec, format_validation_error, parse_source

SOURCES_DIR = Path(__file__).resolve().parent


class BuiltinSourceError(ValueError):
    pass


def source_files() -> list[Path]:
    return sorted(SOURCES_DIR.glob("*.yml"))


def load_source(path: Path) -> SourceSpec:
    """One built-in source; BuiltinSourceError naming the file and field when invalid."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise BuiltinSourceError(f"{path.name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise BuiltinSourceError(f"{path.name}: expected a source (a mapping)")
    try:
        spec = parse_source(data)
    except ValidationError as exc:
        raise BuiltinSourceError(f"{path.name}: {format_validation_error(exc)}") from exc
    if spec.id != path.stem:
        raise BuiltinSourceError(f"{path.name}: id {spec.id!r} must be the file's name")
    return spec


def builtin_sources() -> list[SourceSpec]:
    return [load_source(path) for path in source_files()]
