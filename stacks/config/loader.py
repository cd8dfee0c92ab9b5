"""Reading a config file into an `OrgConfig`, or one `ConfigError` that lists every problem.

Any file a user could write ends here in a config or in that error, quickly: the bytes are
read up to a limit and decoded (UTF-8, or UTF-16 with a byte order mark); the YAML is composed
with limits on nesting and on values (aliases included, so no alias or merge-key bomb
expands), its duplicate keys are reported (YAML would keep the last one silently), and only
then is it built into Python values and validated.

This module imports neither aws_cdk nor jsii, so `app.py` can reject a bad file in a
fraction of a second, before the CDK runtime starts.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import yaml
from pydantic import ValidationError
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from stacks.config import rules
from stacks.config.models import OrgConfig
from stacks.config.rules import Problem

if yaml.__with_libyaml__:
    from yaml._yaml import CParser

MAX_FILE_BYTES = 1024 * 1024
"""The largest organization MAX_VALUES admits is about 200 KiB; long comments may add more."""
MAX_VALUES = 20_000
"""Values of the document (keys, scalars, lists and mappings), each alias counted as the values it
stands for: thirty times the example organization's 624, an organization of some 500 accounts,
160 teams, models and endpoints, which loads in under a second."""
MAX_DEPTH = 32
"""The config's own keys nest eight levels deep; far below Python's recursion limit."""
MERGE_TAG = "tag:yaml.org,2002:merge"


class ConfigError(Exception):
    """The config file cannot be used; `problems` says every reason, each with its path."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"{source}: {len(problems)} configuration problem(s)\n{lines}")


def load_config(path: Path) -> OrgConfig:
    """Parse and validate the YAML file at `path`."""
    try:
        data = _read(path)
    except _UnreadableFileError as problem:
        raise ConfigError(str(path), [Problem("(file)", str(problem))]) from None
    return load_config_bytes(data, source=str(path))


def load_config_bytes(data: bytes, source: str = "config") -> OrgConfig:
    """Parse and validate a config file's bytes; `source` names the file in the error."""
    try:
        document, duplicates = _parse(_text(data))
    except _UnreadableFileError as problem:
        raise ConfigError(source, [Problem("(file)", str(problem))]) from None
    try:
        config = parse_config(document, source=source)
    except ConfigError as error:
        raise ConfigError(source, sorted({*duplicates, *error.problems})) from None
    if duplicates:
        raise ConfigError(source, duplicates)
    return config


def parse_config(document: Any, source: str = "config") -> OrgConfig:
    """Validate an already-parsed document: per-field checks first, then cross-field rules."""
    if not isinstance(document, dict):
        raise ConfigError(source, [Problem("(root)", "must be a mapping with organization and accounts")])
    try:
        config = OrgConfig.model_validate(document)
    except ValidationError as error:
        raise ConfigError(source, _problems_from(error)) from None
    problems = rules.check(config)
    if problems:
        raise ConfigError(source, problems)
    return config


class _UnreadableFileError(Exception):
    """What makes the file unreadable as a whole, said as the `(file)` problem."""


def _read(path: Path) -> bytes:
    try:
        with path.open("rb") as file:
            # One byte past the limit tells a file at the limit from a larger one (or an endless device).
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise _UnreadableFileError(f"cannot be read: {error.strerror or error}") from None
    return data


def _text(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise _UnreadableFileError(
            f"is larger than {MAX_FILE_BYTES // 1024} KiB, far more than any organization's config"
        )
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise _UnreadableFileError("is UTF-32 text: save it as UTF-8")
    # Windows PowerShell 5 and Notepad write UTF-16 with a byte order mark; YAML allows it.
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if not utf16 and b"\x00" in data:
        raise _UnreadableFileError(
            "contains NUL bytes: it is a binary file, or UTF-16 without a byte order mark; save it as UTF-8"
        )
    try:
        return data.decode("utf-16" if utf16 else "utf-8-sig")
    except UnicodeDecodeError as error:
        encoding = "UTF-16" if utf16 else "UTF-8"
        raise _UnreadableFileError(
            f"is not {encoding} text (byte {data[error.start]:#04x} at offset {error.start}): save it as UTF-8"
        ) from None


class _Mark(Protocol):
    """Where in the file an event or node starts (PyYAML's and libyaml's marks alike)."""

    line: int
    column: int


class _BoundedComposer(Composer, Resolver):
    """PyYAML's composer, measuring each node as it composes it, so that neither a huge, a deeply
    nested nor an alias-expanding file exhausts time, memory or the stack: values composed, values
    each node stands for once its aliases are expanded, nesting, and aliases inside the node they
    refer to (cycles). It also finds duplicate keys, with their paths."""

    if TYPE_CHECKING:  # provided by the parser it is combined with

        def peek_event(self) -> Event | None: ...

    def __init__(self) -> None:
        Composer.__init__(self)
        Resolver.__init__(self)
        self.composed = 0
        self.path: list[str | None] = []
        self.shapes: dict[int, tuple[int, int]] = {}
        """Per node: the values it stands for, aliases expanded, and the levels it nests."""
        self.duplicates: list[Problem] = []

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        self.composed += 1
        if self.composed > MAX_VALUES:
            raise _UnreadableFileError(f"has more than {MAX_VALUES} values{_position(self._next_mark())}")
        if len(self.path) >= MAX_DEPTH:
            raise _UnreadableFileError(f"nests deeper than {MAX_DEPTH} levels{_position(self._next_mark())}")
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None and id(target) not in self.shapes:  # still being composed: an ancestor
                raise _UnreadableFileError(
                    f"has an alias inside the node it refers to (a cycle){_position(event.start_mark)}"
                )
        self.path.append(_path_part(index))
        try:
            node = super().compose_node(parent, index)
            if node is not None:
                self._measure(node)
            return node
        finally:
            self.path.pop()

    def _measure(self, node: Node) -> None:
        shape = self.shapes.get(id(node))
        if shape is None:  # composed just now; an alias gives a node composed (and measured) before
            children = (
                [child for pair in node.value for child in pair]
                if isinstance(node, MappingNode)
                else node.value
                if isinstance(node, SequenceNode)
                else []
            )
            child_shapes = [self.shapes[id(child)] for child in children]
            shape = (1 + sum(values for values, _ in child_shapes), 1 + max((h for _, h in child_shapes), default=0))
            self.shapes[id(node)] = shape
            if isinstance(node, MappingNode):
                self.duplicates += _duplicate_keys(node, ".".join(part for part in self.path if part is not None))
        values, height = shape
        if values > MAX_VALUES:
            raise _UnreadableFileError(
                f"expands to more than {MAX_VALUES} values through its aliases{_position(node.start_mark)}"
            )
        if len(self.path) - 1 + height > MAX_DEPTH:
            raise _UnreadableFileError(
                f"nests deeper than {MAX_DEPTH} levels through its aliases{_position(node.start_mark)}"
            )

    def _next_mark(self) -> _Mark | None:
        event = self.peek_event()
        return None if event is None else event.start_mark


def _path_part(index: Any) -> str | None:
    """How a node adds to the path: a mapping value by its key, a list item by its position; keys,
    the root and merged mappings (`<<: *defaults`, whose keys land in the mapping) add nothing."""
    if isinstance(index, ScalarNode):
        return None if index.tag == MERGE_TAG else index.value
    if isinstance(index, Node):
        return "?"
    return None if index is None else str(index)


if yaml.__with_libyaml__:

    class _LibyamlComposer(_BoundedComposer, CParser):
        """libyaml scans and parses (about ten times faster than PyYAML's Python code); PyYAML composes."""

        def __init__(self, text: str) -> None:
            CParser.__init__(self, text)
            _BoundedComposer.__init__(self)


class _PythonComposer(_BoundedComposer, Reader, Scanner, Parser):
    """PyYAML's own reader, scanner and parser, for where PyYAML was built without libyaml."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)
        _BoundedComposer.__init__(self)


def _composer(text: str) -> _BoundedComposer:
    return _LibyamlComposer(text) if yaml.__with_libyaml__ else _PythonComposer(text)


class _Constructor(SafeConstructor):
    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as error:
            # A scalar PyYAML resolves but cannot build: a date such as 2001-13-45, an int of 5000 digits
            # (whose error goes on to advise a Python setting, which is no help here).
            reason = str(error).split(";")[0]
            raise ConstructorError(None, None, f"cannot read this value ({reason})", node.start_mark) from None


def _parse(text: str) -> tuple[Any, list[Problem]]:
    """The document, and its duplicate keys as problems."""
    try:
        composer = _composer(text)
        root = composer.get_single_node()
        if root is None:
            return None, []
        return _Constructor().construct_document(root), sorted(set(composer.duplicates))
    except yaml.reader.ReaderError as error:
        # Its position counts bytes or characters depending on the parser: find the character instead.
        line = text.count("\n", 0, max(text.find(chr(error.character)), 0)) + 1
        raise _UnreadableFileError(
            f"has the character U+{error.character:04X} on line {line}, which YAML does not allow ({error.reason})"
        ) from None
    except yaml.MarkedYAMLError as error:
        raise _UnreadableFileError(
            f"is not valid YAML: {_describe(error)}{_tab_hint(text, error.problem_mark)}"
        ) from None
    except yaml.YAMLError as error:
        raise _UnreadableFileError(f"is not valid YAML: {error}") from None


def _duplicate_keys(node: MappingNode, path: str) -> list[Problem]:
    lines: dict[tuple[str, str], list[int]] = {}
    for key_node, _ in node.value:
        if isinstance(key_node, ScalarNode) and key_node.tag != MERGE_TAG:
            lines.setdefault((key_node.tag, key_node.value), []).append(key_node.start_mark.line + 1)
    problems = []
    for (_, name), found in lines.items():
        if len(found) > 1:
            lines_found = list(dict.fromkeys(found))
            where = f"line{'s' if len(lines_found) > 1 else ''} {', '.join(map(str, lines_found))}"
            problems.append(
                Problem(
                    _join(path, name),
                    f"the key is given {len(found)} times ({where}); YAML would silently keep only the last: keep one",
                )
            )
    return problems


def _join(path: str, part: str) -> str:
    return f"{path}.{part}" if path else part


def _tab_hint(text: str, mark: _Mark | None) -> str:
    """YAML's error for a tab says only that the character cannot start a token."""
    if mark is None:
        return ""
    lines = text.split("\n")
    if mark.line < len(lines) and "\t" in lines[mark.line][: mark.column + 1]:
        return "; YAML indents with spaces, never tabs"
    return ""


def _position(mark: _Mark | None) -> str:
    return "" if mark is None else f" (line {mark.line + 1}, column {mark.column + 1})"


def _describe(error: yaml.MarkedYAMLError) -> str:
    """The error with its position, without PyYAML's snippet of the file."""
    context = f"{error.context}{_position(error.context_mark)}, " if error.context else ""
    return f"{context}{error.problem}{_position(error.problem_mark)}"


def _problems_from(error: ValidationError) -> list[Problem]:
    details = error.errors(include_url=False)
    failed_items = {detail["loc"][:-1] for detail in details if detail["loc"]}
    problems = []
    for detail in details:
        path = ".".join(str(part) for part in detail["loc"]) or "(root)"
        if detail["type"] == "too_short" and detail["loc"] in failed_items:
            # A list whose items all failed is reported through those items, not as empty.
            continue
        if detail["type"] == "value_error":
            # Our own validators' messages, without pydantic's "Value error, " prefix.
            message = str(detail["ctx"]["error"])
        elif detail["type"] == "extra_forbidden":
            message = "unknown key (check the spelling against docs/config-reference.md)"
        else:
            message = detail["msg"][0].lower() + detail["msg"][1:]
        problems.append(Problem(path, message))
    return sorted(set(problems))
