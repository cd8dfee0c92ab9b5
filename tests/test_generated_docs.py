"""Generated documentation: the README's architecture diagram and the config reference, current and faithful."""

from __future__ import annotations

import re

from stacks.config import OrgConfig
from tools import config_reference, diagram

NODE = re.compile(r'^\s*(account_\w+)\["<b>([^<]+)</b> (\d{12})<br/>')


def _nodes(text: str) -> dict[str, tuple[str, int]]:
    """Account name -> (id, indentation, which is its depth in the OU tree)."""
    found = {}
    for line in text.splitlines():
        match = NODE.match(line)
        if match:
            found[match[2]] = (match[3], len(line) - len(line.lstrip()))
    return found


def test_the_committed_diagram_is_the_example_configs():
    assert diagram.main(["diagram", "config/example.yaml", "--check"]) == 0


def test_every_account_is_drawn_once_at_the_depth_of_its_ou(example_config: OrgConfig):
    text = diagram.mermaid(example_config)
    nodes = _nodes(text)
    assert {name: account_id for name, (account_id, _) in nodes.items()} == {
        name: account.id for name, account in example_config.accounts.items()
    }
    assert nodes["management"][1] < nodes["log-archive"][1] < nodes["ml-prod"][1]
    assert nodes["data"][1] < nodes["ml-dev"][1]  # Workloads holds data, ML-Dev under Workloads holds ml-dev
    assert "subgraph ou_sandbox" not in text  # an OU without accounts is left out


def test_the_flows_follow_the_models_from_development_to_production_and_back(example_config: OrgConfig):
    edges = [line.strip() for line in diagram.mermaid(example_config).splitlines() if "|" in line]
    assert 'account_ml_dev -->|"approved packages: fraud-detector, churn-predictor"| account_shared_services' in edges
    prod = next(edge for edge in edges if edge.endswith("account_ml_prod"))
    assert "churn-predictor (also eu-central-1)" in prod and "after a person approves" in prod
    assert any(edge.startswith("account_ml_prod -.->") and edge.endswith("account_ml_dev") for edge in edges)


def test_without_a_feature_store_no_features_flow_and_names_are_quoted_safely(example_config: OrgConfig):
    units = list(example_config.landing_zone.organizational_units)
    units[0] = units[0].model_copy(update={"name": 'Security "core"'})
    config = example_config.model_copy(
        update={
            "feature_store": None,
            "landing_zone": example_config.landing_zone.model_copy(update={"organizational_units": tuple(units)}),
        }
    )
    text = diagram.mermaid(config)
    assert "features:" not in text
    assert "OU Security #quot;core#quot;" in text


def test_the_committed_config_reference_is_what_the_models_give():
    assert config_reference.main(["config_reference", "--check"]) == 0


def test_the_config_reference_has_a_row_for_every_key_of_the_example(example_config: OrgConfig):
    text = config_reference.reference()
    for path in (
        "organization.name",
        "accounts.<name>.network.availability_zones",
        "teams.<name>.users[].persona",
        "endpoints[].variants[].instance_type",
        "endpoints[].monitoring.alarms[].threshold",
        "landing_zone.trail.retention_days",
    ):
        assert f"| `{path}` |" in text, path


def test_every_key_of_the_config_has_a_meaning():
    """Every field of every config model has a description (a mapping may take its model's
    docstring instead), so no row of the reference leaves its meaning empty."""
    keys = [row for _, rows in config_reference.sections() for row in rows]
    assert len(keys) > 200  # every model's fields, nested ones included
    assert [path for path, _, _, meaning in keys if not meaning] == []


def test_reference_cells_keep_placeholders_visible_and_tables_whole():
    # Outside code spans, Markdown would read <name> as an HTML tag and show nothing.
    assert (
        config_reference._cell("under <name>/input/,\n `s3://<org>-x` | y")
        == "under \\<name>/input/, `s3://<org>-x` \\| y"
    )
