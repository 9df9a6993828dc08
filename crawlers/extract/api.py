"""Records from JSON API responses: a JMESPath to the records, one JMESPath per field.

Pure: no Scrapy, no network. JMESPath (https://jmespath.org, the `jmespath` package) is the
expression language, so a source can reach into nested data (`venues[0].country`), lists of
objects (`hsCodes[].code`) and filter (`measures[?type=='360']`) without code of its own.

JSON:API documents (`data` + `included`, https://jsonapi.org) are joined first: each resource
becomes `{id, type, ...attributes, <relationship>: the related resource(s), joined too}`, so a
measure's `measure_type.description` reads like any nested field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_errors
from jmespath import functions as jmespath_functions

from crawlers.extract.table import decode_text, only_list

__all__ = [
    "ROOT_KEY",
    "ApiPage",
    "compile_expression",
    "evaluate",
    "expression_problem",
    "join_jsonapi",
    "read_api_page",
]

ROOT_KEY = "_root"
"""Each record also sees the whole (joined) response under this key, for values that the
response states once for all its records (a commodity's code above its measures)."""
MAX_RECORDS = 100_000
# Relationships are joined this deep; deeper ones stay as {id, type} references. A cycle
# (a commodity's measures pointing back at it) stops where it closes.
JOIN_DEPTH = 4
# A joined document is a tree: resources reached along several paths are copied each time, so
# a hostile document could grow it exponentially. Past this many nodes, references stay bare.
JOIN_MAX_NODES = 200_000


class _Functions(jmespath_functions.Functions):
    """JMESPath's built-ins plus one that no standard function does: regular expressions."""

    @jmespath_functions.signature(
        {"types": ["string", "null"]}, {"types": ["string"]}, {"types": ["string"]}
    )
    def _func_regex_replace(self, subject: str | None, pattern: str, replacement: str) -> Any:
        if subject is None:
            return None
        return _regex(pattern).sub(replacement, subject)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_OPTIONS = jmespath.Options(custom_functions=_Functions())


@cache
def compile_expression(expression: str) -> Any:
    """A compiled JMESPath expression; raises ValueError naming the problem."""
    try:
        return jmespath.compile(expression)
    except jmespath_errors.JMESPathError as exc:
        raise ValueError(f"invalid JMESPath expression {expression!r}: {exc}") from exc


def expression_problem(expression: str) -> str | None:
    """Why `expression` is not a valid JMESPath expression, or None."""
    try:
        compile_expression(expression)
    except ValueError as exc:
        return str(exc)
    return None


def evaluate(expression: str, data: Any) -> Any:
    """`expression` applied to `data`; ValueError when it fails on this data (a type error)."""
    try:
        return compile_expression(expression).search(data, options=_OPTIONS)
    except jmespath_errors.JMESPathError as exc:
        raise ValueError(f"{expression!r}: {exc}") from exc
    except re.error as exc:
        raise ValueError(f"{expression!r}: bad regular expression: {exc}") from exc


# --------------------------------------------------------------------------- JSON:API


def is_jsonapi(doc: Any) -> bool:
    if not isinstance(doc, Mapping) or "data" not in doc:
        return False
    data = doc["data"]
    first = data[0] if isinstance(data, list) and data else data
    return "included" in doc or (
        isinstance(first, Mapping) and "type" in first and "attributes" in first
    )


def join_jsonapi(doc: Mapping[str, Any], depth: int = JOIN_DEPTH) -> dict[str, Any]:
    """The document with `data` resources flattened and their relationships resolved from
    `included` (and from `data` itself), by type and id. Other top-level members are kept."""
    index: dict[tuple[str, str], Mapping[str, Any]] = {}
    data = doc.get("data")
    for resource in [*(doc.get("included") or []), *(data if isinstance(data, list) else [data])]:
        if isinstance(resource, Mapping) and "type" in resource and "id" in resource:
            ref = (str(resource["type"]), str(resource["id"]))
            # one resource given twice (as a bare reference and in full): keep the fuller
            if ref not in index or len(resource) > len(index[ref]):
                index[ref] = resource

    budget = [JOIN_MAX_NODES]

    def flatten(resource: Mapping[str, Any], left: int, path: frozenset[tuple[str, str]]) -> Any:
        ref = (str(resource.get("type")), str(resource.get("id")))
        full = index.get(ref, resource)
        budget[0] -= 1
        if budget[0] < 0:
            return {"id": full.get("id"), "type": full.get("type")}
        out: dict[str, Any] = {"id": full.get("id"), "type": full.get("type")}
        attributes = full.get("attributes")
        if isinstance(attributes, Mapping):
            for key, value in attributes.items():
                out.setdefault(str(key), value)  # `id` and `type` are the resource's own
        relationships = full.get("relationships")
        if not isinstance(relationships, Mapping) or left <= 0 or ref in path:
            return out
        inner = path | {ref}
        for name, rel in relationships.items():
            if str(name) in out or not isinstance(rel, Mapping):
                continue
            linkage = rel.get("data")
            if isinstance(linkage, list):
                out[str(name)] = [
                    flatten(r, left - 1, inner) for r in linkage if isinstance(r, Mapping)
                ]
            elif isinstance(linkage, Mapping):
                out[str(name)] = flatten(linkage, left - 1, inner)
            else:
                out[str(name)] = None
        return out

    joined = {k: v for k, v in doc.items() if k not in ("data", "included")}
    if isinstance(data, list):
        joined["data"] = [flatten(r, depth, frozenset()) for r in data if isinstance(r, Mapping)]
    elif isinstance(data, Mapping):
        joined["data"] = flatten(data, depth, frozenset())
    else:
        joined["data"] = data
    return joined


# --------------------------------------------------------------------------- pages


@dataclass
class ApiPage:
    """What one response gave: its records (each a JSON value), the document (joined, for
    pagination expressions) and what could not be read."""

    records: list[Any] = field(default_factory=list)
    document: Any = None
    errors: list[str] = field(default_factory=list)


def read_api_page(body: bytes, records: str | None, jsonapi: bool | None = None) -> ApiPage:
    """The records of one JSON response. `records` is a JMESPath to their list (default: the
    document when it is a list, else its only list member); `jsonapi` joins a JSON:API
    document first (default: when it looks like one)."""
    page = ApiPage()
    try:
        doc = json.loads(decode_text(body))
    except (json.JSONDecodeError, RecursionError) as exc:
        page.errors.append(f"not valid JSON: {exc}")
        return page
    if jsonapi or (jsonapi is None and is_jsonapi(doc)):
        doc = join_jsonapi(doc)
    page.document = doc
    if records:
        try:
            found = evaluate(records, doc)
        except ValueError as exc:
            page.errors.append(f"records: {exc}")
            return page
    elif isinstance(doc, list):
        found = doc
    elif isinstance(doc, Mapping):
        found, problem = only_list(doc, "api.records")
        if problem:
            page.errors.append(problem)
            return page
    else:
        found = None
    if found is None:
        return page  # nothing at the path: an empty page (the end of a paginated list)
    if not isinstance(found, list):
        found = [found]
    if len(found) > MAX_RECORDS:
        page.errors.append(f"more than {MAX_RECORDS} records; the rest were not read")
        found = found[:MAX_RECORDS]
    page.records = found
    return page


def record_view(record: Any, document: Any) -> Any:
    """What a field expression sees: the record, with the whole response under `_root`."""
    if isinstance(record, Mapping):
        return {**record, ROOT_KEY: document}
    return record
