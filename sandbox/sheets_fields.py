"""Google's field masks: ``fields=`` on a read, and ``fields`` in a batchUpdate request.

The partial-response syntax (``a,b(c,d/e),f.g``, names in camelCase or snake_case) parses to a
tree of camelCase names: a name maps to its subtree, or to None for "the whole value". On a
read the tree selects what the answer keeps; in a request it says which fields of the target
the source overwrites (a field the source lacks is cleared). Whether the names exist is
``sheets_contract``'s business.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .sheets_contract import camel
from .sheets_model import Json, bad_request

FieldTree = dict[str, Any]  # name -> subtree, or None for "the whole value"


def parse_fields(text: str) -> FieldTree:
    """Google's partial-response syntax: ``a,b(c,d/e),f.g``."""
    tree: FieldTree = {}
    pos = _parse_field_list(text.replace(" ", ""), 0, tree)
    if pos != len(text.replace(" ", "")):
        raise bad_request(f"Invalid field selection {text}")
    return tree


def _parse_field_list(text: str, pos: int, tree: FieldTree) -> int:
    while pos < len(text):
        match = re.compile(r"[A-Za-z_*][\w./*]*").match(text, pos)
        if match is None:
            raise bad_request(f"Invalid field selection {text}")
        path = [camel(name) for name in re.split(r"[./]", match.group(0))]  # snake_case too
        pos = match.end()
        sub: FieldTree | None = None
        if pos < len(text) and text[pos] == "(":
            sub = {}
            pos = _parse_field_list(text, pos + 1, sub)
            if pos >= len(text) or text[pos] != ")":
                raise bad_request(f"Invalid field selection {text}")
            pos += 1
        node: FieldTree | None = tree
        for name in path[:-1]:
            assert node is not None
            if name in node and node[name] is None:
                node = None  # already selected whole
                break
            node = node.setdefault(name, {})
        if node is not None:
            last = path[-1]
            if sub is None or (last in node and node[last] is None):
                node[last] = None
            else:
                node.setdefault(last, {}).update(sub)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == ")":
            return pos
    return pos


def apply_mask(value: Any, tree: FieldTree | None) -> Any:
    if tree is None or "*" in tree:
        return value
    if isinstance(value, list):
        return [apply_mask(item, tree) for item in value]
    if isinstance(value, dict):
        return {k: apply_mask(v, tree[k]) for k, v in value.items() if k in tree}
    return value


def _mask_paths(tree: FieldTree, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = []
    for name, sub in tree.items():
        paths += [(*prefix, name)] if sub is None else _mask_paths(sub, (*prefix, name))
    return paths


def set_fields(target: Json, source: Json, fields: str | None, what: str) -> None:
    """Write ``source`` into ``target`` for the fields of a batchUpdate field mask."""
    if not fields:
        raise bad_request(f"{what}At least one field must be specified.")
    if fields.strip() == "*":
        target.clear()
        target.update(copy.deepcopy(source))
        return
    for path in _mask_paths(parse_fields(fields)):
        src: Any = source
        for name in path:
            src = src.get(name) if isinstance(src, dict) else None
        node = target
        for name in path[:-1]:
            node = node.setdefault(name, {})
        if src is None:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = copy.deepcopy(src)
    for key in [k for k, v in target.items() if v in ({}, None)]:
        del target[key]
