"""Validation errors in the user's words: what was given, what is expected, the nearest valid value.

pydantic reports errors against its own types (``Input should be a valid dictionary or
instance of Levels``); a user wrote YAML. Each error is re-worded from the config's JSON
Schema, the one description of what every key accepts: ``got 0.1; expected a mapping
{warning: ..., critical: ...} or null``, ``got 'jsd'; expected one of kl, js, ...; did you
mean 'js'?``. Nothing here knows files or lines (config.py adds those).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError

from driftmon import redact
from driftmon.durations import PATTERN as DURATION_PATTERN
from driftmon.errors import did_you_mean

Path = tuple[str | int, ...]
Problem = tuple[Path, str]

# What a pattern in the schema means, for messages (a regex is not an explanation).
PATTERN_WORDS = {
    DURATION_PATTERN: "a duration like 30s, 5m, 1h",
    r"^[a-zA-Z0-9_.-]+$": "a name of letters, digits, '_', '.' and '-'",
    r"^[a-zA-Z_][a-zA-Z0-9_]*$": "a Prometheus label name (letters, digits and '_', not starting with a digit)",
    r"^[a-zA-Z_:][a-zA-Z0-9_:]*$": "a Prometheus metric name (letters, digits, '_' and ':', not starting with a digit)",
}

# Errors with something to say beyond "this value is not of that kind"; every other error
# (string_type, int_parsing, literal_error, greater_than, model_type, ...) is re-worded from
# the schema as "got X; expected Y". Union branches report one each; a value of the right
# kind for a branch is explained by that branch.
_SPECIFIC = frozenset(
    {
        "extra_forbidden",
        "missing",
        "invalid_key",
        "union_tag_invalid",
        "union_tag_not_found",
        "value_error",
        "assertion_error",
        "string_too_long",
    }
)


def explain(error: ValidationError, raw: Any, schema: dict[str, Any], known_keys: Sequence[str]) -> list[Problem]:
    """One problem per wrong value of ``raw`` (the input), with its path in the input.

    Union branches that the value is not of are merged into one "expected A or B"; a
    required key that an unknown key nearby probably misspells is not reported twice.
    """
    errors = error.errors(include_url=False)
    items = [(_input_path(item["loc"], raw, item["type"] == "missing"), item) for item in errors]
    problems: list[Problem] = []
    wrong_kind: dict[Path, list[dict[str, Any]]] = {}
    suggested: set[tuple[Path, str]] = set()  # (mapping path, key) an unknown key's hint names
    for path, item in items:
        if item["type"] not in _SPECIFIC:
            wrong_kind.setdefault(path, []).append(dict(item))
        elif item["type"] == "extra_forbidden":
            hint = _closest(path[-1], known_keys)
            if hint == path[-1]:  # a valid key, of a mapping inside this one (a feature's `bins:`)
                problems.append((path, _key_of_another_mapping(path, raw, schema)))
                continue
            if hint:
                suggested.add((path[:-1], hint))
            problems.append((path, f"unknown key {path[-1]!r}" + _did_you_mean(hint)))
    for path, item in items:
        kind = item["type"]
        if kind == "missing":
            if (path[:-1], path[-1]) not in suggested:
                problems.append((path, f"required key {path[-1]!r} is missing"))
        elif kind == "invalid_key" or (
            kind not in _SPECIFIC and "[key]" in item["loc"] and not _names(path, raw, schema)
        ):
            problems.append((path, _key_not_text(path)))
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            problems.append((path, _source_type(item, path, raw, schema)))
        elif kind == "string_too_long":  # a 5 MB name: its length, not the name
            value = item.get("input")
            size = f"{len(value):,} characters" if isinstance(value, str) else "too long"
            limit = (item.get("ctx") or {}).get("max_length")
            problems.append((path, f"got {shown(value)} ({size}); at most {limit:,} characters"))
        elif kind in ("value_error", "assertion_error"):  # driftmon's own validators: already in words
            message = str(item["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
            problems.append((path, " ".join(message.split())))  # one line per problem
    explained = [path for path, _ in problems]
    for path, group in wrong_kind.items():
        if "[key]" in group[0]["loc"] and not _names(path, raw, schema):
            continue  # a key that is not text: reported above
        # A value some branch of the union took as its own is explained there (deeper or here).
        deeper = any(len(other) > len(path) and other[: len(path)] == path for other in wrong_kind)
        if deeper or any(other[: len(path)] == path for other in explained):
            continue
        if "[key]" in group[0]["loc"]:
            problems.append((path, _unknown_name(path, raw, schema)))
            continue
        if value_at(raw, path) == "" and any(item["type"] == "string_too_short" for item in group):
            problems.append((path, "got ''; it cannot be empty"))  # not "expected a string"
            continue
        problems.append((path, _got_expected(path, raw, schema)))
    return _unique(problems)


def _unique(problems: Iterable[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _input_path(loc: tuple[str | int, ...], raw: Any, missing: bool) -> Path:
    """The parts of a pydantic location that are keys or indexes of the input (union tags dropped),
    and the key itself for a missing key."""
    path: list[str | int] = []
    node = raw
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        in_dict = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if in_dict or in_list:
            path.append(part)
            node = node[part]
        elif part == "[key]":
            break
        elif last and missing and isinstance(node, dict):
            path.append(part)
    return tuple(path)


def value_at(raw: Any, path: Path) -> Any:
    node = raw
    for part in path:
        in_list = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not (in_list or (isinstance(node, dict) and part in node)):
            return None
        node = node[part]
    return node


def _got_expected(path: Path, raw: Any, schema: dict[str, Any]) -> str:
    value = value_at(raw, path)
    nodes = schema_at(schema, path, raw)
    if any(node.get("writeOnly") for node in _branches(nodes, schema, None)):  # a password: never echoed
        return f"got {_kind_of(value)}; expected {expected(nodes, schema, value)}"
    message = f"got {shown(value)}; expected {expected(nodes, schema, value)}"
    return message + _nearest(value, nodes, schema)


def _kind_of(value: Any) -> str:
    """What a value is, without the value: ``a number``, ``a list``..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "null" if value is None else "a value"


def _nearest(value: Any, nodes: list[dict[str, Any]], schema: dict[str, Any]) -> str:
    """``; did you mean 'js'?`` for a near miss of an allowed value, ``'300s'`` for a bare number
    given as a duration, ``[js]`` for one value where a list is expected."""
    branches = _branches(nodes, schema, value)
    choices = [str(v) for node in branches for v in node.get("enum", [node.get("const")]) if v is not None]
    if isinstance(value, str) and _closest(value, choices):
        return _did_you_mean(_closest(value, choices))
    durations = any(node.get("pattern") == DURATION_PATTERN for node in branches)
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if durations and number and 0 < value < 1e15:  # not NaN, inf, or an integer too large for a float
        return f"; did you mean '{value:g}s'?"
    if isinstance(value, str | int | float) and any(node.get("type") == "array" for node in branches):
        return f"; did you mean [{_flow(value)}]?"
    return ""


def _names(path: Path, raw: Any, schema: dict[str, Any]) -> list[str]:
    """The fixed names the mapping holding ``path`` allows as keys (none: any text)."""
    return [
        str(name)
        for node in _branches(schema_at(schema, path[:-1], raw), schema, None)
        for name in node.get("propertyNames", {}).get("enum", [])
    ]


def _key_of_another_mapping(path: Path, raw: Any, schema: dict[str, Any]) -> str:
    """``unknown key 'bins' here; it is a key of 'binning' (binning: {bins: ...})``: the keys of
    this mapping whose own mapping takes the key (none found: the key is valid elsewhere)."""
    key = path[-1]
    owners = [
        str(name)
        for node in _branches(schema_at(schema, path[:-1], raw), schema, None)
        for name, child in node.get("properties", {}).items()
        if any(key in branch.get("properties", {}) for branch in _branches([child], schema, None))
    ]
    if not owners:
        return f"unknown key {key!r} here; it is a key of another part of the config"
    owner = owners[0]
    return f"unknown key {key!r} here; it is a key of {owner!r} ({owner}: {{{key}: ...}})"


def _key_not_text(path: Path) -> str:
    key = path[-1] if path else None
    return f"key {shown(key)} is not text; quote it ('{key}':) if it is meant as a name"


def _unknown_name(path: Path, raw: Any, schema: dict[str, Any]) -> str:
    """A key of a mapping whose keys are fixed names (``thresholds: {jsd: ...}``)."""
    names = _names(path, raw, schema)
    message = f"unknown name {path[-1]!r}; expected one of {', '.join(names)}"
    return message + _did_you_mean(_closest(path[-1], names))


def _source_type(item: Any, path: Path, raw: Any, schema: dict[str, Any]) -> str:
    nodes = _branches(schema_at(schema, path, raw), schema, None, keep_unions=True)
    types = sorted({t for node in nodes for t in node.get("discriminator", {}).get("mapping", {})})
    given = value_at(raw, (*path, "type"))
    if item["type"] == "union_tag_not_found" or given is None:
        return f"a source needs a `type:` (one of {', '.join(types)})"
    message = f"unknown source type {given!r}; expected one of {', '.join(types)}"
    return message + _did_you_mean(_closest(given, types))


def _closest(given: Any, choices: Sequence[str]) -> str | None:
    """The valid name nearest to a misspelt one, if any is near enough."""
    close = did_you_mean(str(given), choices, limit=1)
    return close[0] if close else None


def _did_you_mean(name: str | None) -> str:
    return f"; did you mean {name!r}?" if name else ""


# ---------------------------------------------------------------------------
# the JSON Schema, read as "what is expected here"


def schema_at(schema: dict[str, Any], path: Path, raw: Any) -> list[dict[str, Any]]:
    """The schema nodes that may describe the value at ``path`` (one per union branch)."""
    nodes = [schema]
    value = raw
    for part in path:
        following: list[dict[str, Any]] = []
        for node in _branches(nodes, schema, value):
            properties = node.get("properties", {})
            if isinstance(part, str) and part in properties:
                following.append(properties[part])
            elif isinstance(part, str) and isinstance(node.get("additionalProperties"), dict):
                following.append(node["additionalProperties"])
            elif isinstance(part, int) and isinstance(node.get("items"), dict):
                following.append(node["items"])
        nodes = following
        value = value_at(value, (part,))
    return nodes


def _branches(
    nodes: Iterable[dict[str, Any]], schema: dict[str, Any], value: Any, keep_unions: bool = False
) -> list[dict[str, Any]]:
    """``nodes`` with references resolved and unions expanded (a tagged union to the branch
    the value's ``type:`` names, when it names one)."""
    pending = list(nodes)
    result: list[dict[str, Any]] = []
    while pending:
        node = pending.pop(0)
        if "$ref" in node:
            target = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
            pending.insert(0, {**target, **{k: v for k, v in node.items() if k != "$ref"}})
            continue
        branches = node.get("anyOf") or node.get("oneOf")
        if branches is None:
            result.append(node)
            continue
        if keep_unions:
            result.append(node)
        mapping = node.get("discriminator", {}).get("mapping", {})
        tag = value.get(node["discriminator"]["propertyName"]) if mapping and isinstance(value, dict) else None
        if isinstance(tag, str) and tag in mapping:
            branches = [{"$ref": mapping[tag]}]
        elif mapping:  # not a source of a known type: say what every source looks like
            result.append({"type": "object", "x-tagged": sorted(mapping), "x-tag": node["discriminator"]})
            continue
        pending[0:0] = branches
    return result


def expected(nodes: list[dict[str, Any]], schema: dict[str, Any], value: Any = None) -> str:
    """What the schema nodes accept, in YAML terms: ``a duration like 30s, 5m, 1h or a mapping {cron: ...}``."""
    words = [_describe(node, schema) for node in _branches(nodes, schema, value)]
    words = [w for w in dict.fromkeys(words) if w != "null"] + (["null"] if "null" in words else [])
    return " or ".join(words) if words else "nothing here (remove the key)"


def _describe(node: dict[str, Any], schema: dict[str, Any]) -> str:
    if "x-tagged" in node:
        return f"a mapping with `{node['x-tag']['propertyName']}:` one of {', '.join(node['x-tagged'])}"
    if "enum" in node:
        return "one of " + ", ".join(str(v) for v in node["enum"])
    if "const" in node:
        return str(node["const"])
    kind = node.get("type")
    if kind == "string":
        if "pattern" in node:
            return PATTERN_WORDS.get(node["pattern"], "a string of the documented form (see `driftmon schema`)")
        example = node.get("examples", [None])[0]
        return f"a string like {json.dumps(example)}" if isinstance(example, str) else "a string"
    if kind in ("integer", "number"):
        return ("a whole number" if kind == "integer" else "a number") + _range(node)
    if kind == "boolean":
        return "true or false"
    if kind == "null":
        return "null"
    if kind == "array":
        items = expected([node["items"]], schema) if isinstance(node.get("items"), dict) else "anything"
        size = "a non-empty list" if node.get("minItems", 0) >= 1 else "a list"
        return f"{size}, each item {items}"
    if kind == "object" and "properties" in node:
        required = list(node.get("required", []))
        keys = required + [k for k in node["properties"] if k not in required]
        shown_keys = ", ".join(f"{k}: ..." for k in keys[:4]) + (", ..." if len(keys) > 4 else "")
        return f"a mapping {{{shown_keys}}}"
    if kind == "object":
        names = node.get("propertyNames", {}).get("enum")
        key = f"<one of {', '.join(names)}>" if names else "<name>"
        values = node.get("additionalProperties")
        value = expected([values], schema) if isinstance(values, dict) else "..."
        return f"a mapping {{{key}: {value}, ...}}"
    return "a value described in `driftmon schema`"


def _range(node: dict[str, Any]) -> str:
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    parts = []
    if low is not None:
        parts.append(f">= {low:g}")
    if node.get("exclusiveMinimum") is not None:
        parts.append(f"> {node['exclusiveMinimum']:g}")
    if high is not None:
        parts.append(f"<= {high:g}")
    if node.get("exclusiveMaximum") is not None:
        parts.append(f"< {node['exclusiveMaximum']:g}")
    return (" " + " and ".join(parts)) if parts else ""


def shown(value: Any) -> str:
    """A value as the YAML it came from, shortened: ``'jsd'``, ``0.1``, ``a list [5m]``, ``a mapping {age: 1}``."""
    if isinstance(value, list):
        return "an empty list" if not value else f"a list {_flow(value)}"
    if isinstance(value, dict):
        return "an empty mapping" if not value else f"a mapping {_flow(value)}"
    if isinstance(value, str):
        return redact.clipped(repr(value), 60)
    return _flow(value)


def _flow(value: Any) -> str:
    import yaml

    text = yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    return redact.clipped(text.removesuffix("\n...").removesuffix("...").strip(), 60)
