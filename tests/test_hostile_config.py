"""Hostile configuration: thousands of generated broken organizations.

Each example starts from the example organization and applies random damage: values of the
wrong type, out of range or huge; keys removed or unknown ones added; names duplicated;
references left dangling; organizational units made cyclic. Whatever the damage, loading
ends either in a valid config or in the ConfigError that lists problems with their paths:
never another exception, so never a traceback and never a partial synth (the app validates
before it builds anything).
"""

from __future__ import annotations

import copy
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacks.config import ConfigError, OrgConfig, parse_config
from tests.conftest import EXAMPLE_CONFIG

EXAMPLE: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())

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


@settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(damaged())
def test_damaged_configs_end_in_a_valid_config_or_one_error_with_paths(document: Any) -> None:
    try:
        config = parse_config(document)
    except ConfigError as error:
        assert error.problems, "an error must name at least one problem"
        for problem in error.problems:
            assert problem.path and isinstance(problem.path, str)
            assert problem.message and isinstance(problem.message, str)
        assert str(error).count("\n  - ") == len(error.problems)
    else:
        assert isinstance(config, OrgConfig)
