"""Hostile configuration: whatever a user could write ends in a config or in one ConfigError.

Three kinds of hostility, each ending either in a valid config or in the ConfigError that
lists problems with their paths; never another exception, so never a traceback and never a
partial synth (the app validates before it builds anything); bench.config_load times them:

- the parsed document damaged at random (wrong types, out-of-range or huge values, keys
  removed or unknown ones added, names duplicated, references dangling, OUs made cyclic);
- the YAML text damaged at random (duplicated keys, anchors, aliases and merge keys,
  encodings and byte order marks, nesting, binary bytes, tabs, very long lines);
- the files of tests/hostile_configs, each a small organization with one or a few known
  defects, refused with exactly the paths its `# expect:` header names (or, for files whose
  bytes hold no readable header, EXPECTATIONS.txt) and messages containing its `# says:`.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.config import ConfigError, OrgConfig, load_config, load_config_bytes, parse_config
from stacks.config.loader import MAX_VALUES
from tests.conftest import EXAMPLE_CONFIG

EXAMPLE_TEXT = EXAMPLE_CONFIG.read_text()
EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_TEXT)
HOSTILE_CONFIGS = Path(__file__).parent / "hostile_configs"

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.text(min_size=5000, max_size=20000),  # huge inputs
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the document, containers included."""
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


PATHS = [path for path in _paths(EXAMPLE) if path]


def _parent(document: Any, path: tuple[Any, ...]) -> Any:
    node = document
    for part in path[:-1]:
        node = node[part]
    return node


@st.composite
def damaged(draw: st.DrawFn) -> Any:
    document = copy.deepcopy(EXAMPLE)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(PATHS))
        try:
            parent = _parent(document, path)
            parent[path[-1]]  # the path may no longer exist after earlier damage
        except (KeyError, IndexError, TypeError):
            continue
        if not isinstance(parent, dict | list):
            continue  # earlier damage turned the parent into a string, a number or None
        action = draw(st.sampled_from(["replace", "delete", "unknown-key", "duplicate", "dangle", "cycle"]))
        if action == "replace":
            parent[path[-1]] = draw(junk)
        elif action == "delete":
            del parent[path[-1]]
        elif action == "unknown-key" and isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.text(min_size=1, max_size=12))] = draw(junk)
        elif action == "duplicate" and isinstance(parent[path[-1]], list) and parent[path[-1]]:
            parent[path[-1]].append(copy.deepcopy(parent[path[-1]][0]))
        elif action == "dangle" and isinstance(parent[path[-1]], str):
            parent[path[-1]] = "nowhere-" + draw(st.text(alphabet="abcdefgh", min_size=1, max_size=8))
        elif action == "cycle":
            landing_zone = document.get("landing_zone")
            units = landing_zone.get("organizational_units") if isinstance(landing_zone, dict) else None
            if isinstance(units, list) and len(units) > 3 and all(isinstance(u, dict) for u in units[:4]):
                units[2]["parent"], units[3]["parent"] = units[3].get("key"), units[2].get("key")
    if draw(st.booleans()) and draw(st.booleans()):
        return draw(junk)  # not even a mapping
    return document


def assert_one_clear_error(error: ConfigError) -> None:
    assert error.problems, "an error must name at least one problem"
    for problem in error.problems:
        assert problem.path and isinstance(problem.path, str)
        assert problem.message and isinstance(problem.message, str)
    assert str(error).count("\n  - ") == len(error.problems)


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged())
def test_damaged_configs_end_in_a_valid_config_or_one_error_with_paths(document: Any) -> None:
    try:
        config = parse_config(document)
    except ConfigError as error:
        assert_one_clear_error(error)
    else:
        assert isinstance(config, OrgConfig)


# The YAML text itself -----------------------------------------------------------------------

LINES = EXAMPLE_TEXT.splitlines(keepends=True)
KEY_LINE = re.compile(r"^( *)([a-z_][a-z0-9_]*): \S")
"""A block mapping's key with its value on the same line (not a list item's first key)."""
KEY_LINES = [index for index, line in enumerate(LINES) if KEY_LINE.match(line)]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-16-be", "utf-32", "latin-1", "cp1252"]


def _bomb(width: int, depth: int, merge: bool) -> str:
    """Anchors of `width` aliases of the anchor before: some `width ** (depth + 1)` values once expanded."""
    if merge:
        levels = ["bomb0: &b0 {k0: 0, k1: 1}\n"]
        levels += [
            f"bomb{i}: &b{i} {{<<: [{', '.join([f'*b{i - 1}'] * width)}], k{i + 1}: {i}}}\n"
            for i in range(1, depth + 1)
        ]
    else:
        levels = [f"bomb0: &b0 [{', '.join(['x'] * width)}]\n"]
        levels += [f"bomb{i}: &b{i} [{', '.join([f'*b{i - 1}'] * width)}]\n" for i in range(1, depth + 1)]
    return "".join(levels)


@st.composite
def mutated_text(draw: st.DrawFn) -> bytes:
    lines = list(LINES)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        index = draw(st.integers(min_value=0, max_value=len(lines) - 1))
        action = draw(
            st.sampled_from(
                ["duplicate-line", "delete-line", "alias", "bomb", "merge", "nest", "tab", "long-line", "bom", "text"]
            )
        )
        if action == "duplicate-line":
            lines.insert(index, lines[index])
        elif action == "delete-line":
            del lines[index]
        elif action == "alias":
            # Anchor one value, and refer to it from another key's value.
            anchored, aliased = draw(st.sampled_from(KEY_LINES)), draw(st.sampled_from(KEY_LINES))
            if anchored < len(lines) and aliased < len(lines):
                lines[anchored] = re.sub(r": ", ": &shared ", lines[anchored], count=1)
                lines[aliased] = re.sub(r": .*", ": *shared", lines[aliased].rstrip("\n"), count=1) + "\n"
        elif action in ("bomb", "merge"):
            width, depth = draw(st.integers(min_value=1, max_value=12)), draw(st.integers(min_value=1, max_value=12))
            lines.append(_bomb(width, depth, merge=action == "merge"))
        elif action == "nest":
            depth = draw(st.integers(min_value=1, max_value=3000))
            lines[index] = re.sub(r": (.+)$", ": " + "[" * depth + r"\g<1>" + "]" * depth, lines[index])
        elif action == "tab":
            lines[index] = re.sub(r"^ +", "\t", lines[index])
        elif action == "long-line":
            length = draw(st.integers(min_value=1000, max_value=200_000))
            lines.insert(index, draw(st.sampled_from(["# ", "k", "key: "])) + "x" * length + "\n")
        elif action == "bom":
            lines.insert(index, "\ufeff")
        else:
            lines.insert(index, draw(st.text(max_size=30)))
    data = "".join(lines).encode(draw(st.sampled_from(ENCODINGS)), errors="replace")
    if draw(st.booleans()):
        offset = draw(st.integers(min_value=0, max_value=len(data)))
        data = data[:offset] + draw(st.binary(min_size=1, max_size=16)) + data[offset:]
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(mutated_text())
def test_damaged_yaml_text_ends_in_a_valid_config_or_one_error_with_paths(data: bytes) -> None:
    try:
        config = load_config_bytes(data)
    except ConfigError as error:
        assert_one_clear_error(error)
    else:
        assert isinstance(config, OrgConfig)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KEY_LINES))
def test_a_duplicated_key_is_reported_and_not_silently_overwritten(index: int) -> None:
    line = LINES[index]
    data = "".join([*LINES[: index + 1], line, *LINES[index + 1 :]]).encode()
    with pytest.raises(ConfigError) as caught:
        load_config_bytes(data)
    key = KEY_LINE.match(line)
    assert key is not None
    assert any(
        problem.path.split(".")[-1] == key[2] and f"given 2 times (lines {index + 1}, {index + 2})" in problem.message
        for problem in caught.value.problems
    ), caught.value.problems


def _values(node: yaml.Node) -> int:
    """Every key, scalar, list and mapping of a composed document."""
    children = [child for pair in node.value for child in pair] if isinstance(node, yaml.MappingNode) else node.value
    return 1 + (sum(_values(child) for child in children) if isinstance(children, list) else 0)


def _expanded_values(width: int, depth: int, merge: bool) -> int:
    """The example's values and the bomb's, each alias counted as the values it stands for."""
    example = yaml.compose(EXAMPLE_TEXT)
    assert example is not None
    total = _values(example)
    anchored = 5 if merge else 1 + width  # {k0: 0, k1: 1}, or a list of `width` scalars
    total += 1 + anchored
    for _ in range(depth):
        # A list of `width` aliases; a merge key, that list, and one more key and value.
        anchored = (4 if merge else 0) + 1 + width * anchored
        total += 1 + anchored
    return total


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=2, max_value=12), st.integers(min_value=1, max_value=12), st.booleans())
def test_aliases_expanding_past_the_limit_are_refused_before_they_expand(width: int, depth: int, merge: bool) -> None:
    with pytest.raises(ConfigError) as caught:  # the bomb's keys are unknown, so even a small one is refused
        load_config_bytes((EXAMPLE_TEXT + _bomb(width, depth, merge)).encode())
    refused_as_bomb = any("through its aliases" in problem.message for problem in caught.value.problems)
    assert refused_as_bomb == (_expanded_values(width, depth, merge) > MAX_VALUES)


# The hostile files ----------------------------------------------------------------------------


def _expectations() -> dict[str, tuple[set[str], list[str]]]:
    """Each file's expected problem paths and message fragments, from its header or the sidecar."""
    found: dict[str, tuple[set[str], list[str]]] = {}
    for row in (HOSTILE_CONFIGS / "EXPECTATIONS.txt").read_text().splitlines():
        if not row.startswith("#"):
            name, listed_paths, listed_fragments, _ = (part.strip() for part in row.split("|"))
            found[name] = (
                {path.strip() for path in listed_paths.split(",")},
                [fragment.strip() for fragment in listed_fragments.split(";")],
            )
    for file in HOSTILE_CONFIGS.glob("*.yaml"):
        # Latin-1 decodes any bytes, so a header is found in front of whatever follows it.
        header = [line.lstrip("\xef\xbb\xbf") for line in file.read_bytes().decode("latin-1").splitlines()]
        paths = {path.strip() for line in header if line.startswith("# expect:") for path in line[9:].split(",")}
        fragments = [line[len("# says:") :].strip() for line in header if line.startswith("# says:")]
        if paths:
            assert file.name not in found, f"{file.name}: expectations in both its header and EXPECTATIONS.txt"
            found[file.name] = (paths, fragments)
    return found


EXPECTATIONS = _expectations()


def test_every_hostile_file_says_what_to_expect_and_there_are_over_a_hundred():
    files = {file.name for file in HOSTILE_CONFIGS.glob("*.yaml")}
    assert len(files) >= 100
    assert set(EXPECTATIONS) == files
    assert all(paths and says for paths, says in EXPECTATIONS.values())


@pytest.mark.parametrize("name", sorted(EXPECTATIONS), ids=lambda name: name.removesuffix(".yaml"))
def test_each_hostile_file_is_refused_with_its_paths(name: str):
    expected_paths, fragments = EXPECTATIONS[name]
    with pytest.raises(ConfigError) as caught:
        load_config(HOSTILE_CONFIGS / name)
    problems = caught.value.problems
    assert {problem.path for problem in problems} == expected_paths, problems
    for fragment in fragments:
        assert any(fragment in problem.message for problem in problems), (fragment, problems)
    assert str(caught.value).startswith(f"{HOSTILE_CONFIGS / name}: {len(problems)} configuration problem(s)\n  - ")
