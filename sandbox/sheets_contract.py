"""Every request held to the Sheets v4 discovery document that google-api-python-client ships.

The document is read at run time from the installed ``googleapiclient`` (not a copy), so the
emulator stays in step with the library pinned in requirements.txt. What Google refuses before
it touches a spreadsheet is refused here, with Google's wording where it is on record:

- a body's field the schema lacks, at any depth: ``Invalid JSON payload received. Unknown name
  "foo" at 'requests[0].update_cells': Cannot find field.`` (paths in the proto's snake_case;
  every unknown name of a body in one message, one line each, and one ``fieldViolation`` each);
- a value of the wrong type or outside an enum: ``Invalid value at
  'requests[0].insert_dimension.range.dimension'
  (type.googleapis.com/google.apps.sheets.v4.Dimension), "ROW"``; a values-API cell that is a
  list or an object: ``Invalid values[0][0]: list_value ...``;
- a query parameter the method lacks, or an enum parameter's unknown value;
- a ``fields`` selector of the answer naming a field the answer's schema lacks (a space
  included: Google does not strip it): ``Request contains an invalid argument.``;
- a batchUpdate ``fields`` mask naming a field its target lacks (``Invalid requests[0].repeatCell:
  ...``).

Like Google's JSON parser, it takes a field by its camelCase or snake_case name, an integer as a
JSON number or a numeric string, an enum by name or number, and null for "not set"; the body it
returns is the same request in canonical form (camelCase names, numbers as numbers, enums by
name, nulls left out), so the emulator's handlers read one spelling.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import googleapiclient

from .sheets_model import ApiError, Json

DISCOVERY_PATH = (
    Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "sheets.v4.json"
)
PROTO_PACKAGE = "type.googleapis.com/google.apps.sheets.v4"
INT32 = (-(2**31), 2**31 - 1)
# batchUpdate requests whose mask is rooted below the request's one object field
_CELL_MASKS = {"UpdateCellsRequest", "AppendCellsRequest", "RepeatCellRequest"}
_NOT_MASK_ROOTS = {"range", "dataSourceSheetRange"}


@functools.cache
def discovery() -> Json:
    """The Sheets v4 discovery document of the installed google-api-python-client."""
    document: Json = json.loads(DISCOVERY_PATH.read_text(encoding="utf-8"))
    return document


def schemas() -> dict[str, Json]:
    found: dict[str, Json] = discovery()["schemas"]
    return found


@functools.cache
def methods() -> dict[str, Json]:
    """Every method by its id without the ``sheets.`` prefix: ``spreadsheets.values.get``."""
    found: dict[str, Json] = {}

    def walk(resource: Json) -> None:
        for method in resource.get("methods", {}).values():
            found[method["id"].removeprefix("sheets.")] = method
        for child in resource.get("resources", {}).values():
            walk(child)

    walk(discovery())
    return found


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class ContractError(ApiError):
    """Google's 400 for a call the discovery document (or Google's parser) refuses."""


@dataclass(frozen=True)
class Violation:
    """One thing Google's parser refuses: where (snake_case path) and Google's sentence."""

    field: str
    description: str


def _where(path: str) -> str:
    return f" at '{path}'" if path else ""


def _enum_type(prop: Json, name: str) -> str:
    """The proto enum's type name as Google's message shows it: a query parameter's is its
    name's (``valueInputOption``: ValueInputOption), a body field's is told by its
    *_UNSPECIFIED value (``majorDimension``: DIMENSION_UNSPECIFIED, Dimension)."""
    first = prop["enum"][0]
    if prop.get("location") == "query":
        return f"{PROTO_PACKAGE}.{name[:1].upper()}{name[1:]}"
    if first.endswith("_UNSPECIFIED"):
        words = first.removesuffix("_UNSPECIFIED").split("_")
        return f"{PROTO_PACKAGE}.{''.join(w.capitalize() for w in words)}"
    return "TYPE_ENUM"


class _Checker:
    """Walks a JSON value beside its schema, collecting violations and a canonical copy."""

    def __init__(self) -> None:
        self.violations: list[Violation] = []

    def refuse(self, path: str, description: str) -> None:
        self.violations.append(Violation(path, description))

    def invalid(self, path: str, type_name: str, value: Any) -> None:
        self.refuse(path, f"Invalid value{_where(path)} ({type_name}), {json.dumps(value)}")

    def message(self, value: Any, ref: str, path: str) -> Any:
        if not isinstance(value, dict):
            if isinstance(value, list):
                last = path.rpartition(".")[2]
                parent = path.rpartition(".")[0]
                self.refuse(
                    parent,
                    f'Invalid JSON payload received. Unknown name "{last}"{_where(parent)}: '
                    "Proto field is not repeating, cannot start list.",
                )
            else:
                self.invalid(path, f"{PROTO_PACKAGE}.{ref}", value)
            return value
        props: Json = schemas()[ref].get("properties", {})
        out: Json = {}
        for key, item in value.items():
            name = key if key in props else camel(key)
            if name not in props:
                self.refuse(
                    path,
                    f'Invalid JSON payload received. Unknown name "{key}"{_where(path)}: '
                    "Cannot find field.",
                )
                continue
            child = f"{path}.{snake(name)}" if path else snake(name)
            if item is not None:  # null is "not set": the canonical form leaves it out
                out[name] = self.value(item, props[name], child, name)
        return out

    def value(self, value: Any, prop: Json, path: str, name: str) -> Any:  # noqa: PLR0911
        if value is None:
            return None
        if "$ref" in prop:
            return self.message(value, prop["$ref"], path)
        kind = prop.get("type")
        if kind == "array":
            if not isinstance(value, list):
                item = prop.get("items", {})
                self.invalid(path, f"{PROTO_PACKAGE}.{item.get('$ref', 'Value')}", value)
                return value
            return [
                self.value(item, prop.get("items", {}), f"{path}[{i}]", name)
                for i, item in enumerate(value)
            ]
        if kind == "object":  # a map
            if not isinstance(value, dict):
                self.invalid(path, "TYPE_MESSAGE", value)
                return value
            inner = prop.get("additionalProperties", {})
            return {k: self.value(v, inner, f"{path}[{k}]", name) for k, v in value.items()}
        if kind == "integer":
            return self.integer(value, path)
        if kind == "number":
            return self.number(value, path, prop.get("format") == "float")
        if kind == "boolean":
            if not isinstance(value, bool):
                self.invalid(path, "TYPE_BOOL", value)
            return value
        if kind == "string":
            return self.string(value, prop, path, name)
        return value  # "any": a protobuf Value

    def integer(self, value: Any, path: str) -> Any:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif (isinstance(value, float) and value.is_integer()) or (
            isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip())
        ):
            number = int(value)
        if number is None or not INT32[0] <= number <= INT32[1]:
            self.invalid(path, "TYPE_INT32", value)
            return value
        return number

    def number(self, value: Any, path: str, single: bool) -> Any:
        kind = "TYPE_FLOAT" if single else "TYPE_DOUBLE"
        if isinstance(value, bool):
            self.invalid(path, kind, value)
            return value
        if isinstance(value, int | float):
            return value
        if isinstance(value, str):
            special = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
            if value in special:
                return special[value]
            try:
                return float(value)
            except ValueError:
                pass
        self.invalid(path, kind, value)
        return value

    def string(self, value: Any, prop: Json, path: str, name: str) -> Any:
        if "enum" in prop:
            if isinstance(value, str) and value in prop["enum"]:
                return value
            if (
                isinstance(value, int)
                and not isinstance(value, bool)
                and 0 <= value < len(prop["enum"])
            ):
                return prop["enum"][value]
            self.invalid(path, _enum_type(prop, name), value)
            return value
        if not isinstance(value, str):
            self.invalid(path, "TYPE_STRING", value)
        return value


def check_body(ref: str, body: Any) -> tuple[Any, list[Violation]]:
    """``body`` held to schema ``ref``: (its canonical form, what Google's parser refuses)."""
    checker = _Checker()
    canonical = checker.message(body, ref, "")
    return canonical, checker.violations


def parse_error(violations: list[Violation]) -> ContractError:
    """Google's answer to a body its parser refuses: every sentence, one field violation each."""
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [
                {"field": v.field, "description": v.description}
                if v.field
                else {"description": v.description}
                for v in violations
            ],
        }
    ]
    return ContractError(400, "\n".join(v.description for v in violations), details=details)


# ----- field masks ----------------------------------------------------------------------------


def _mask_paths(text: str) -> list[list[str]] | None:
    """``a.b,c(d,e/f)`` -> [[a, b], [c, d], [c, e, f]]; None when it does not parse.

    Nothing is stripped: Google reads ``a, b`` as the path `` b``, which names no field.
    """
    paths: list[list[str]] = []
    pos = _mask_list(text, 0, [], paths)
    return paths if pos == len(text) else None


def _mask_list(text: str, pos: int, prefix: list[str], out: list[list[str]]) -> int:
    while True:
        match = re.compile(r"[^,()]+").match(text, pos)
        if match is None:
            return -1
        path = [*prefix, *re.split(r"[./]", match.group(0))]
        pos = match.end()
        if pos < len(text) and text[pos] == "(":
            pos = _mask_list(text, pos + 1, path, out)
            if pos < 0 or pos >= len(text) or text[pos] != ")":
                return -1
            pos += 1
        else:
            out.append(path)
        if pos < len(text) and text[pos] == ",":
            pos += 1
            continue
        return pos


def unknown_path(ref: str, path: list[str]) -> tuple[str, str] | None:
    """(the first name of ``path`` that schema ``ref``, followed down, lacks; the type that
    lacks it), else None. Names may be camelCase or snake_case, as Google takes them."""
    schema, where = schemas()[ref], ref
    for depth, name in enumerate(path):
        if name == "*" and depth == len(path) - 1:
            return None
        props = schema.get("properties", {})
        prop = props.get(name) or props.get(camel(name))
        if prop is None:
            return name, where
        while prop.get("type") == "array":
            prop = prop.get("items", {})
        where = prop.get("$ref") or prop.get("type", "a value")
        schema = schemas()[prop["$ref"]] if "$ref" in prop else {}
    return None


def bad_mask(ref: str, text: str) -> str | None:
    """Why the field mask ``text`` rooted at schema ``ref`` is refused, else None."""
    if text == "*":
        return None
    paths = _mask_paths(text)
    if paths is None:
        return f"Invalid field mask: '{text}'."
    for path in paths:
        missing = unknown_path(ref, path)
        if missing is not None:
            name, where = missing
            shown = ".".join(path)
            return f"Invalid field mask path '{shown}': '{name}' is not a field of {where}."
    return None


def mask_root(request_ref: str) -> str | None:
    """The schema a batchUpdate request's ``fields`` mask is rooted at, if it has one."""
    props: Json = schemas()[request_ref].get("properties", {})
    if props.get("fields", {}).get("format") != "google-fieldmask":
        return None
    if request_ref in _CELL_MASKS:
        return "CellData"
    roots = [p["$ref"] for name, p in props.items() if "$ref" in p and name not in _NOT_MASK_ROOTS]
    return roots[0] if len(roots) == 1 else None


def batch_masks(requests: list[Any]) -> ContractError | None:
    """The first request whose ``fields`` mask names a field its target lacks, as Google says."""
    kinds: Json = schemas()["Request"]["properties"]
    for index, request in enumerate(requests):
        if not isinstance(request, dict):
            continue
        for kind, body in request.items():
            ref = kinds[kind]["$ref"]
            root = mask_root(ref)
            if root is None or not isinstance(body, dict) or not body.get("fields"):
                continue
            why = bad_mask(root, body["fields"])
            if why is not None:
                return ContractError(400, f"Invalid requests[{index}].{kind}: {why}")
    return None


# ----- a whole call ---------------------------------------------------------------------------


def check_query(method_id: str, query: dict[str, list[str]]) -> ContractError | None:
    """Query parameters the method (or every method) lacks, or an enum's unknown value."""
    method = methods()[method_id]
    own: Json = method.get("parameters", {})
    common: Json = discovery()["parameters"]
    for name, values in query.items():
        prop = own.get(name) or common.get(name)
        if prop is None or prop.get("location") == "path":
            description = (
                f'Invalid JSON payload received. Unknown name "{name}": Cannot bind query '
                f"parameter. Field '{name}' could not be found in request message."
            )
            return parse_error([Violation("", description)])
        for value in values:
            checker = _Checker()
            if prop.get("type") == "boolean":
                if value not in ("true", "false"):
                    checker.invalid(snake(name), "TYPE_BOOL", value)
            else:
                checker.value(value, prop, snake(name), name)
            if checker.violations:
                return parse_error(checker.violations)
    return None


def check_selector(method_id: str, fields: str | None) -> ContractError | None:
    """A ``fields`` selector naming a field the method's answer lacks: Google's 400."""
    response = methods()[method_id].get("response", {}).get("$ref")
    if not fields or response is None:
        return None
    paths = _mask_paths(fields)
    missing = (
        None
        if paths is None
        else next((p for p in paths if unknown_path(response, p) is not None), None)
    )
    if paths is not None and missing is None:
        return None
    shown = fields if missing is None else ".".join(missing)
    description = (
        f"Error expanding 'fields' parameter. Cannot find matching fields for path '{shown}'."
    )
    details = [
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": "fields", "description": description}],
        }
    ]
    return ContractError(400, "Request contains an invalid argument.", details=details)


def _value_cells(rows: Any) -> list[Violation]:
    """The values API takes a cell as a number, string, boolean or null, never a list or map."""
    found: list[Violation] = []
    for i, row in enumerate(rows if isinstance(rows, list) else []):
        for j, cell in enumerate(row if isinstance(row, list) else []):
            if isinstance(cell, list | dict):
                kind = "list_value" if isinstance(cell, list) else "struct_value"
                found.append(Violation("", f"Invalid values[{i}][{j}]: {kind} {json.dumps(cell)}"))
    return found


def check_call(method_id: str, query: dict[str, list[str]], body: Any) -> Any:
    """A call held to the discovery document: its canonical body, or Google's 400 raised."""
    selector = query["fields"][-1] if query.get("fields") else None
    for error in (check_query(method_id, query), check_selector(method_id, selector)):
        if error is not None:
            raise error
    ref = methods()[method_id].get("request", {}).get("$ref")
    if ref is None:
        return body
    canonical, violations = check_body(ref, body)
    if violations:
        raise parse_error(violations)
    if ref == "ValueRange":
        cells = _value_cells(canonical.get("values"))
        if cells:
            raise ContractError(400, cells[0].description)
    return canonical
