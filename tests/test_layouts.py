"""The layout matrix (docs/architecture.md, "Account layouts"): assignments of roles to accounts that AWS allows, each
synthesized once as `cdk synth` runs app.py, with every gate (the nag packs, the SageMaker pack,
CloudFormation's limits, acknowledgements that match nothing, released products), then cfn-lint
on every template, the Control Tower gate, the deploy preflight and the runtime flows.

The one-account-per-role layout is the example organization: the session synthesizes it
(tests/conftest.py), tests/test_gates.py lints its templates and tests/test_control_tower.py
holds it to the Control Tower gate. The others are the quickstart's config/minimal.yaml and
the files of tests/layouts/, kept small so that each synthesizes in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.api import ManualArgs, lint_by_config

import app
from proofs import flows, preflight
from proofs.context import ProofContext
from proofs.findings import failures
from stacks.config import OrgConfig, load_config, rules
from stacks.deployment_order import planned_stages
from tests.conftest import ROOT, run_app
from tools import control_tower

LAYOUTS = ROOT / "tests" / "layouts"
ONE_ACCOUNT_PER_ROLE = "one-account-per-role"
SYNTHESIZED_HERE = ("minimal", "three-accounts", "several-development-accounts", "sandbox")
"""Files of tests/layouts/, and the README's quickstart, config/minimal.yaml."""


@dataclass(frozen=True)
class Layout:
    name: str
    config: OrgConfig
    directory: Path
    stderr: str
    """What app.py printed besides the assembly (warnings, notes)."""

    @cached_property
    def context(self) -> ProofContext:
        return ProofContext.read(self.directory, self.config)

    def template(self, stage: str, stack: str) -> dict[str, Any]:
        """The template of `<stage>/<stack>` (its display name)."""
        found = self.context.assembly.stack(f"{stage}/{stack}")
        return dict(found.template)

    def resources(self, stage: str, stack: str, resource_type: str) -> list[dict[str, Any]]:
        return [
            resource.get("Properties", {})
            for resource in self.template(stage, stack)["Resources"].values()
            if resource["Type"] == resource_type
        ]


@pytest.fixture(scope="module", params=[ONE_ACCOUNT_PER_ROLE, *SYNTHESIZED_HERE])
def layout(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Layout:
    if request.param == ONE_ACCOUNT_PER_ROLE:
        org = request.getfixturevalue("org")
        return Layout(request.param, org.config, org.directory, "")
    config_file = ROOT / "config" / "minimal.yaml" if request.param == "minimal" else LAYOUTS / f"{request.param}.yaml"
    directory = tmp_path_factory.mktemp(request.param)
    result = run_app(config_file, directory)
    assert result.returncode == 0, result.stderr[-3000:]
    return Layout(request.param, load_config(config_file), directory, result.stderr)


def test_the_layout_passes_every_gate_of_synth(layout: Layout):
    assert "Traceback" not in layout.stderr
    assert [(heading, lines) for heading, lines in app.gate_problems(layout.config, layout.directory) if lines] == []


@pytest.mark.parametrize("layout", SYNTHESIZED_HERE, indirect=True)
def test_cfn_lint_is_clean_on_every_template(layout: Layout):
    settings = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    templates = sorted(str(path) for path in layout.directory.glob("assembly-*/*.template.json"))
    assert len(templates) >= len(layout.context.assembly.stacks)
    matches = lint_by_config(
        ManualArgs(templates=templates, ignore_checks=settings["ignore_checks"], regions=["eu-west-1"])
    )
    assert [str(match) for match in matches] == []


@pytest.mark.parametrize("layout", SYNTHESIZED_HERE, indirect=True)
def test_the_control_tower_gate_passes(layout: Layout):
    _, _, verdict = control_tower.run(layout.directory, reuse=False)
    assert control_tower.problems(verdict) == []


def test_the_deploy_preflight_finds_nothing_aws_would_refuse(layout: Layout):
    failed = failures(preflight.run(layout.context))
    assert failed == [], "\n".join(finding.render() for finding in failed)


def test_every_runtime_flow_holds(layout: Layout):
    proven = flows.prove(layout.context)
    assert {flow.covers for flow, _ in proven} >= {"Model build", "Model approval", "Serving and promotion"}
    failing = [f"{flow.name}: {r.hop.what}: {r.decision}" for flow, results in proven for r in results if not r.holds]
    assert failing == []


def test_every_planned_stage_is_synthesized_once(layout: Layout):
    planned = [stage.stage_id for stage in planned_stages(layout.config)]
    assert len(planned) == len(set(planned))
    assert set(planned) == {stack.stage for stack in layout.context.assembly.stacks}


# --- what each layout shows --------------------------------------------------------------------


def _pipeline(layout: Layout, model: str) -> dict[tuple[str, str], Any]:
    """The deployment pipeline of `model`: (stage, action) -> the action's configuration."""
    tooling = next(s.stage for s in layout.context.assembly.stacks if s.stage.endswith("Tooling"))
    pipeline = next(
        pipeline
        for pipeline in layout.resources(tooling, "ModelDeployments-0", "AWS::CodePipeline::Pipeline")
        if pipeline["Name"].endswith(f"-{model}-deploy")
    )
    return {
        (stage["Name"], action["Name"]): action.get("Configuration", {})
        for stage in pipeline["Stages"]
        for action in stage["Actions"]
    }


@pytest.mark.parametrize("layout", ["three-accounts"], indirect=True)
def test_a_team_that_tests_in_its_production_account_deploys_test_then_production_there(layout: Layout):
    """Issue #26's layout: the pipeline deploys the test deployment's stack (named -test) and
    smoke-tests its endpoint, then, after the approval, the production stack of the same account."""
    actions = _pipeline(layout, "fraud-detector")
    assert actions[("Test", "Deploy-fraud-detector")]["StackName"] == "trio-endpoint-fraud-detector-test"
    smoke_test = json.loads(actions[("Test", "SmokeTest-fraud-detector")]["UserParameters"])
    assert smoke_test["endpoint"] == "trio-fraud-detector-test"
    assert actions[("Production", "Deploy-fraud-detector")]["StackName"] == "trio-endpoint-fraud-detector"
    assert actions[("Promote", "Promote-fraud-detector")]["StackName"] == "trio-endpoint-fraud-detector"
    batch = _pipeline(layout, "churn-predictor")
    assert batch[("Test", "Deploy-batch-churn-nightly")]["StackName"] == "trio-batch-churn-nightly-test"
    assert batch[("Production", "Deploy-batch-churn-nightly")]["StackName"] == "trio-batch-churn-nightly"
    order = list(actions)
    assert order.index(("Test", "Deploy-fraud-detector")) < order.index(("Production", "Deploy-fraud-detector"))


@pytest.mark.parametrize("layout", ["three-accounts"], indirect=True)
def test_the_test_deployment_in_a_production_account_behaves_as_test(layout: Layout):
    """Test or production is the deployment's: the test endpoint scales down after hours and is
    not monitored, the test batch job runs on no schedule and reads its own folder, the test API
    claims no custom domain; the account stays production for termination protection."""
    test, production = "Endpoint-fraud-detector-test", "Endpoint-fraud-detector"
    (test_endpoint,) = layout.resources("ProdEndpoints", test, "AWS::SageMaker::Endpoint")
    assert test_endpoint["EndpointName"] == "trio-fraud-detector-test"
    assert layout.resources("ProdEndpoints", test, "AWS::ApplicationAutoScaling::ScalableTarget")[0].get(
        "ScheduledActions"
    )
    assert not layout.resources("ProdEndpoints", production, "AWS::ApplicationAutoScaling::ScalableTarget")[0].get(
        "ScheduledActions"
    )
    assert not layout.resources("ProdEndpoints", test, "AWS::SageMaker::MonitoringSchedule")
    assert layout.resources("ProdEndpoints", production, "AWS::SageMaker::MonitoringSchedule")
    stacks = {stack.display_name: stack for stack in layout.context.assembly.stacks}
    assert stacks[f"ProdEndpoints/{test}"].stack_name == "trio-endpoint-fraud-detector-test"
    manifest = json.loads((layout.directory / "assembly-ProdEndpoints" / "manifest.json").read_text())
    (test_stack,) = [a for a in manifest["artifacts"].values() if a.get("displayName") == f"ProdEndpoints/{test}"]
    assert test_stack["properties"]["terminationProtection"] is True, "the account keeps what holds production"
    (test_batch,) = layout.resources("ProdEndpoints", "Batch-churn-nightly-test", "AWS::SageMaker::Pipeline")
    assert "churn-nightly-test/input/" in json.dumps(test_batch)
    assert not layout.resources("ProdEndpoints", "Batch-churn-nightly-test", "AWS::Scheduler::Schedule")
    assert layout.resources("ProdEndpoints", "Batch-churn-nightly", "AWS::Scheduler::Schedule")
    domains = layout.resources("ProdServing", "InferenceApis-0", "AWS::ApiGateway::DomainName")
    assert [domain["DomainName"] for domain in domains] == ["churn.ml.example.com"]
    apis = layout.resources("ProdServing", "InferenceApis-0", "AWS::ApiGateway::RestApi")
    assert sorted(api["Name"] for api in apis) == [
        "trio-churn-predictor-api",
        "trio-churn-predictor-test-api",
        "trio-fraud-detector-api",
        "trio-fraud-detector-test-api",
    ]


@pytest.mark.parametrize("layout", ["several-development-accounts"], indirect=True)
def test_development_accounts_have_registries_of_their_own_and_serving_accounts_cross(layout: Layout):
    """Each team's registry in its own ml-dev account; `blue` holds fraud's test deployment and
    churn's production one, under their own names: its smoke-test role reaches the test endpoint
    only, and only the production endpoint is monitored."""
    for stage, model in (("DevADevelopment", "fraud-detector"), ("DevBDevelopment", "churn-predictor")):
        (group,) = layout.resources(stage, "Registry", "AWS::SageMaker::ModelPackageGroup")
        assert group["ModelPackageGroupName"] == f"duo-{model}"
    smoke_test = next(
        policy
        for policy in layout.resources("BlueServing", "Serving", "AWS::IAM::ManagedPolicy")
        if "InvokeEndpoint" in json.dumps(policy)
    )
    invoked = json.dumps(smoke_test["PolicyDocument"])
    assert "endpoint/duo-fraud-detector" in invoked and "duo-churn-predictor" not in invoked
    assert not layout.resources("BlueEndpoints", "Endpoint-fraud-detector", "AWS::SageMaker::MonitoringSchedule")
    assert layout.resources("BlueEndpoints", "Endpoint-churn-predictor", "AWS::SageMaker::MonitoringSchedule")


@pytest.mark.parametrize("layout", ["sandbox"], indirect=True)
def test_a_single_account_sandbox_warns_that_no_guardrail_protects_it(layout: Layout):
    """SCPs never apply to the management account: synth says so, on stderr, and succeeds."""
    (warning,) = [line for line in layout.stderr.splitlines() if line.startswith("warning:")]
    assert warning.startswith("warning: accounts.sandbox: a single-account sandbox")
    assert "SCPs never apply to the management account" in warning
    assert "ml-workloads" in warning and "protect-baseline" in warning


@pytest.mark.parametrize("layout", ["sandbox"], indirect=True)
def test_a_sandbox_is_deployed_by_its_administrators_without_a_platform_pipeline(layout: Layout):
    """Every stage is the management account's; the models' pipelines still deploy the endpoints
    (into the same account), and the catalog waits for the launch roles its own account creates."""
    waves = {stage.purpose: stage.wave for stage in planned_stages(layout.config)}
    assert "Toolchain" not in waves
    assert "Data" not in waves  # no Feature Store: the launch roles are all in Development
    assert waves["Catalog"] > waves["Development"]
    assert {stack.account for stack in layout.context.assembly.stacks} == {"101010101010"}
    assert _pipeline(layout, "churn")[("Test", "Deploy-churn")]["StackName"] == "sandbox-endpoint-churn-test"


def test_only_a_management_account_with_other_roles_is_warned_about(example_config: OrgConfig):
    assert rules.warnings(example_config) == []
    (warning,) = rules.warnings(load_config(LAYOUTS / "three-accounts.yaml"))
    assert str(warning).startswith("accounts.core: holds log-archive, shared-services beside management")
