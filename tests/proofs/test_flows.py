"""The runtime flow proofs on the example organization, and on planted defects: every hop holds
(allowed with a network path, or denied when it is a negative), and a flow fails when the
policy it depends on is taken away."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from proofs import flows
from proofs.context import ProofContext
from proofs.flows.model import Flow, HopResult
from proofs.references.catalog import portfolio_access
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tools import flows as tool


@pytest.fixture(scope="module")
def proven(org) -> list[tuple[Flow, list[HopResult]]]:
    return flows.prove(ProofContext.read(org.directory, org.config))


def _results(proven, flow_name: str) -> list[HopResult]:
    return next(results for flow, results in proven if flow.name == flow_name)


def test_every_hop_of_every_flow_holds(proven):
    failing = [f"{flow.name}: {r.hop.what}: {r.decision}" for flow, results in proven for r in results if not r.holds]
    assert failing == []


def test_the_flows_cover_the_lifecycle_and_its_negatives(proven):
    names = {flow.name for flow, _ in proven}
    assert {
        "model build of fraud-detector",
        "approval of fraud-detector",
        "deployment of fraud-detector",
        "drift retraining of fraud-detector from fraud-detector",
        "Studio of team fraud",
        "feature store for team fraud",
        "self-service for team fraud",
        "batch inference churn-nightly in ml-prod",
    } <= names
    negatives = [r.hop.what for _, results in proven for r in results if not r.hop.allowed]
    assert any("outside the organization" in what for what in negatives)
    assert any("outside the VPC" in what for what in negatives)
    assert any("delete a production endpoint" in what for what in negatives)
    assert any("cannot read" in what and "data" in what for what in negatives)


def test_every_team_reaches_the_central_feature_store(proven):
    """Regression: the data account's producer and consumer roles trusted the teams' accounts, but
    no team role was allowed to assume them, so no one could ingest or read a feature."""
    for team in ("fraud", "churn"):
        assumed = [
            r
            for r in _results(proven, f"feature store for team {team}")
            if r.hop.action == "sts:AssumeRole" and r.hop.allowed
        ]
        assert {r.hop.resource.rsplit("/", 1)[-1] for r in assumed} == {
            "acme-feature-store-producer",
            "acme-feature-store-consumer",
        }
        assert all(r.holds for r in assumed)


def test_teams_launch_the_portfolios_products(proven):
    """Regression: the portfolio named the teams' roles and the Identity Center personas as its
    principals, but none of them was allowed a Service Catalog action, so no product could be
    launched, and the feature group product was shared where nobody could launch it."""
    for team in ("fraud", "churn"):
        launches = [
            r for r in _results(proven, f"self-service for team {team}") if r.hop.action.startswith("servicecatalog:")
        ]
        assert [r.hop.allowed for r in launches] == [True, True, False, False, True]
        assert all(r.holds for r in launches)


def test_every_hop_is_decided_offline(proven):
    """Nothing passes silently, nor is left open. Regression: the personas' AWS managed read-only
    policies, which no proof can read offline, left "alice cannot open bob's profile" undecided;
    their reads are now the permission sets' own statements."""
    undecided = {key for _, results in proven for r in results for key in r.undecided}
    assert undecided == set()


def test_a_bus_without_its_organization_policy_refuses_the_approval(org, tmp_path: Path):
    copy = tmp_path / "cdk.out"
    shutil.copytree(org.directory, copy, ignore=shutil.ignore_patterns("asset.*"))
    context = ProofContext.read(copy, org.config)
    tooling = context.assembly.stack("SharedServicesTooling/Tooling")
    template = json.loads(tooling.template_path.read_text())
    template["Resources"] = {
        key: resource
        for key, resource in template["Resources"].items()
        if resource["Type"] != "AWS::Events::EventBusPolicy"
    }
    tooling.template_path.write_text(json.dumps(template))
    results = _results(flows.prove(ProofContext.read(copy, org.config)), "approval of fraud-detector")
    (failed,) = [r for r in results if not r.holds]
    assert failed.hop.action == "events:PutEvents" and "cross-account" in str(failed.decision)


def test_make_flows_prints_every_hop_and_exits_zero(org, capsys):
    assert tool.main(["flows", str(org.directory), str(EXAMPLE_CONFIG)]) == 0
    output = capsys.readouterr().out
    assert "approval of fraud-detector (docs/architecture.md: Model approval)" in output
    assert output.splitlines()[-1].startswith("flows: ") and " 0 failing" in output.splitlines()[-1]


def _architecture_sections() -> dict[str, str]:
    parts = re.split(r"^#+ (.+)$", (ROOT / "docs" / "architecture.md").read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_architecture_page_says_which_flow_proves_each_section(proven):
    """Every flow names a section of docs/architecture.md, and that section names the flow (⟨...⟩ for what varies)."""
    sections = _architecture_sections()
    for flow, _ in proven:
        section = " ".join(sections[flow.covers].split())
        named = [
            r"\S+".join(re.escape(part) for part in re.split(r"⟨[^⟩]*⟩", token))
            for token in re.findall(r"\*([^*]*⟨[^*]*)\*", section)
        ]
        assert "make flows" in section and any(re.fullmatch(pattern, flow.name) for pattern in named), flow.name


def test_proving_the_flows_leaves_the_context_as_the_deploy_preflight_reads_it(org):
    """The flows add what is not a resource's policy (portfolios' principals, bootstrap roles'
    trust) to their own index: the preflight, run on the same context afterwards, took a
    portfolio's access for its products' own policies and reported deploys as denied."""
    context = ProofContext.read(org.directory, org.config)
    products = sorted(portfolio_access(context))
    assert products
    before = {product: context.index.policy_for("servicecatalog:DescribeProduct", product) for product in products}
    flows.prove(context)
    after = {product: context.index.policy_for("servicecatalog:DescribeProduct", product) for product in products}
    assert after == before == dict.fromkeys(products)
