"""YAML for driftmon's files: a strict safe loader, ``${VAR}`` substitution, and where a key
is in the text (for error reports that name the line).

The loader refuses duplicate keys, deep nesting and alias bombs; every file driftmon reads
as YAML (the config, the web config) goes through `parse_yaml`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from driftmon import redact
from driftmon.config_schema import MAX_NAME_CHARS
from driftmon.errors import ConfigError, plural
from driftmon.problems import Problem, shown

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def parse_file(text: str, file: Path) -> dict[str, Any]:
    """The YAML document as a mapping, or a ConfigError at the line and column of the fault."""
    try:
        raw = parse_yaml(text)
    except yaml.MarkedYAMLError as error:
        raise ConfigError(_yaml_message(error, file)) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{file}: invalid YAML: {error}") from None
    except Exception:
        # PyYAML's own converters fail with plain exceptions on a tag the safe loader knows
        # but whose value it cannot convert: `!!float path`, `!!timestamp yesterday`.
        raise ConfigError(  # not the library's message: it quotes the value, which may be a secret
            f"{file}: invalid YAML: a tagged value (!!float, !!int...) cannot be read; remove the tag or fix the value"
        ) from None
    if raw is None:
        raise ConfigError(f"{file}: the config file is empty; it needs at least `monitors:`")
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{file}: the top level must be a mapping with `monitors:` (and `defaults:`), not {shown(raw)}"
        )
    return raw


def _yaml_message(error: yaml.MarkedYAMLError, file: Path) -> str:
    """``file:line:column: invalid YAML: what``, in words for the usual slips (tabs, open quotes)."""
    mark = error.problem_mark or error.context_mark
    where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else str(file)
    problem = str(error.problem or error.context)
    context = str(error.context or "")
    start = error.context_mark
    if "'\\t'" in problem:
        problem = "a tab character; YAML indents with spaces only"
    elif "quoted scalar" in context and start is not None:
        where = f"{file}:{start.line + 1}:{start.column + 1}"
        problem = "a quoted string that is never closed (add the closing quote)"
    elif problem.startswith("found character") or problem.startswith("expected"):
        problem = f"{problem} ({context})" if context else problem
    return f"{where}: invalid YAML: {problem}"


# Limits on what a config file may make the loader build (hostile or broken files): a
# real config nests about 6 levels deep; anchors are for sharing a source block or a few
# settings, not for multiplying the document (a 300-byte "billion laughs" expands to 10^9
# values and would keep `check` busy for minutes).
MAX_DEPTH = 64
MAX_ALIAS_VALUES = 100_000


def parse_yaml(text: str) -> Any:
    """YAML text as Python values, with the limits every file driftmon reads gets.

    Refuses duplicate keys, deep nesting and alias bombs (yaml.YAMLError); PyYAML's
    converters may still raise plain exceptions for tags whose value they cannot convert.
    """
    return yaml.load(text, Loader=_StrictLoader)  # a SafeLoader subclass


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, nesting deeper than MAX_DEPTH, anchors that
    refer to themselves and aliases adding more than MAX_ALIAS_VALUES values."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, f"nested more than {MAX_DEPTH} levels deep; a config needs far fewer", mark
                )
            node: yaml.Node | None = super().compose_node(parent, index)
            return node
        finally:
            self._depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()
        if node is not None:
            _check_expansion(node)
        return node


def _check_expansion(root: yaml.Node) -> None:
    """Refuse a node graph that aliases expand beyond MAX_ALIAS_VALUES extra values, or that
    contains itself (a recursive anchor): counted once per distinct node, never expanded."""
    sizes: dict[int, int] = {}
    distinct = 0
    visiting: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:  # iterative: no recursion limit to hit
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            visiting.discard(key)
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            if sizes[key] - distinct > MAX_ALIAS_VALUES:
                raise yaml.composer.ComposerError(
                    None,
                    None,
                    f"aliases (*name) expand the document by more than {MAX_ALIAS_VALUES:,} values; "
                    "use anchors to share a block, not to multiply it",
                    node.start_mark,
                )
            continue
        if key in sizes:
            continue
        if key in visiting:
            raise yaml.composer.ComposerError(
                None, None, "an alias refers to the block that contains it (a recursive anchor)", node.start_mark
            )
        visiting.add(key)
        distinct += 1
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if isinstance(key, list | dict):  # unhashable: PyYAML would fail with a Python TypeError
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping",
                node.start_mark,
                "a key must be text, not a list or mapping",
                key_node.start_mark,
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def substitute(node: Any, path: tuple[str | int, ...], environ: Mapping[str, str]) -> Iterator[Problem]:
    """Replace ``${NAME}`` in every string in place; yield a problem per unset variable."""
    items: Sequence[tuple[Any, Any]]
    if isinstance(node, dict):
        items = list(node.items())
    elif isinstance(node, list):
        items = list(enumerate(node))
    else:
        return
    for key, value in items:
        if isinstance(value, str):
            unset = [name for name in _VAR.findall(value) if name not in environ]
            if "${" in _VAR.sub("", value):
                yield (*path, key), f"{shown(value)} has a ${{ that is not a variable reference like ${{NAME}}"
            elif unset:
                yield (*path, key), f"environment variable {unset[0]} is not set (used as ${{{unset[0]}}})"
            else:
                used = _VAR.findall(value)
                redact.remember(environ[name] for name in used)  # ${VAR} values never leave the process
                node[key] = _VAR.sub(lambda m: environ[m.group(1)], value)
        else:
            yield from substitute(value, (*path, key), environ)


def format_path(path: Sequence[str | int]) -> str:
    """``("monitors", 2, "features", 0)`` -> ``monitors[2].features[0]``."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def report(file: Path, text: str, raw: Any, problems: Sequence[Problem]) -> str:
    """One line per problem, sorted by line: ``file:line: key.path (monitor NAME): what is wrong``."""
    try:
        root = yaml.compose(text, Loader=_StrictLoader)
    except yaml.YAMLError:
        root = None
    names = _monitor_names(raw)
    lines = []
    for path, message in dict.fromkeys(problems):
        position = _position_of(root, path) or (0, 0)
        where = f"{file}:{position[0]}" if position[0] else str(file)
        name = names.get(path[1]) if len(path) > 1 and path[0] == "monitors" and isinstance(path[1], int) else None
        monitor = f" (monitor {name})" if name is not None else ""
        lines.append((position, f"  {where}: {format_path(path)}{monitor}: {message}"))
    lines.sort(key=lambda pair: pair[0])  # in the file's order; stable for problems at one place
    header = f"{file}: {plural(len(lines), 'problem')} in the config:"
    return "\n".join([header, *(text for _, text in lines)])


def _monitor_names(raw: Any) -> dict[int, str]:
    """Index -> name of each monitor whose name is unique and well-formed, to name it in messages."""
    monitors = raw.get("monitors") if isinstance(raw, dict) else None
    if not isinstance(monitors, list):
        return {}
    names = {i: m["name"] for i, m in enumerate(monitors) if isinstance(m, dict) and isinstance(m.get("name"), str)}
    counts: dict[str, int] = {}
    for name in names.values():
        counts[name] = counts.get(name, 0) + 1
    return {
        i: name
        for i, name in names.items()
        if counts[name] == 1 and len(name) <= MAX_NAME_CHARS and re.fullmatch(r"[a-zA-Z0-9_.-]+", name)
    }


def _position_of(node: Any, path: Sequence[str | int]) -> tuple[int, int] | None:
    """1-based (line, column) of the deepest node on ``path`` in the YAML tree (of its key in a mapping)."""
    position = None
    for part in path:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            mark = pair[0].start_mark
            node = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            mark = node.start_mark
        else:
            break
        position = (mark.line + 1, mark.column + 1)
    return position
