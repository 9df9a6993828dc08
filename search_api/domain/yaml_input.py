"""YAML (and JSON) that people and sites send us, read with bounds.

Every place YAML enters (the agency form, `tradepoint sources add/import`, curated files, the
built-in sources) reads it here: PyYAML's safe loader plus what it lacks against hostile input.
Aliases are refused (a 1 kB "billion laughs" document expands to gigabytes), nesting and node
counts are bounded (50,000 levels end in a RecursionError), duplicate keys are an error (PyYAML
keeps the last silently), and bytes must be UTF-8 text. Each problem is one line saying where.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node

MAX_BYTES = 1_000_000
MAX_DEPTH = 40
MAX_NODES = 200_000


class YamlInputError(ValueError):
    """Why a YAML text was refused, in one line."""


class _BoundedLoader(yaml.SafeLoader):
    max_depth = MAX_DEPTH
    max_nodes = MAX_NODES

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise YamlInputError(f"line {mark.line + 1}: aliases (*name) are not allowed")
        self._nodes += 1
        if self._nodes > self.max_nodes:
            raise YamlInputError(f"more than {self.max_nodes} values")
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                mark = self.peek_event().start_mark
                raise YamlInputError(
                    f"line {mark.line + 1}: nested more than {self.max_depth} levels deep"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
            except TypeError:  # an unhashable key: PyYAML refuses it itself
                continue
            if duplicate:
                line = key_node.start_mark.line + 1
                raise YamlInputError(f"line {line}: key {key!r} appears twice")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_BRACKETS = re.compile(r"[\[\]{}]")


def _check_flow_depth(text: str, max_depth: int) -> None:
    # PyYAML's scanner spends ~20 us a level on "[[[[..." before the composer could refuse it;
    # counting brackets first answers in milliseconds (brackets inside quoted strings count
    # too, which no real document nests this deep).
    depth = 0
    for match in _BRACKETS.finditer(text):
        depth += 1 if match.group() in "[{" else -1
        if depth > max_depth:
            line = text.count("\n", 0, match.start()) + 1
            raise YamlInputError(f"line {line}: nested more than {max_depth} levels deep")


def load_yaml(
    data: str | bytes,
    *,
    max_bytes: int = MAX_BYTES,
    max_depth: int = MAX_DEPTH,
    max_nodes: int = MAX_NODES,
) -> Any:
    """The document in `data`; a YamlInputError (a ValueError) says what is wrong and where."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > max_bytes:
        raise YamlInputError(f"larger than {max_bytes:,} bytes ({size:,})")
    if isinstance(data, bytes):
        if b"\x00" in data:
            raise YamlInputError("binary data, not a YAML or JSON text")
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise YamlInputError(
                f"not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); "
                "save the file as UTF-8"
            ) from None
    _check_flow_depth(data, max_depth)
    loader = _BoundedLoader(data)
    loader.max_depth, loader.max_nodes = max_depth, max_nodes
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        raise YamlInputError(f"{where}{exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise YamlInputError(str(exc).replace("\n", " ")) from None
    except RecursionError:
        raise YamlInputError(f"nested more than {max_depth} levels deep") from None
    finally:
        loader.dispose()
