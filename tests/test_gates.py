"""The policy gates: cdk-nag reaches every stage, acknowledgements are exact and all used,
and cfn-lint is clean on every synthesized template."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_ssm as ssm
from cfnlint.api import ManualArgs, lint_by_config

from stacks import gates
from stacks.composition import build
from stacks.nag_acknowledgements import NagAcknowledgement, acknowledgements
from tests.conftest import ROOT, cli_app

EXPECTED_PACKS = {"AwsSolutions", "HIPAA.Security", "NIST.800.53.R5", "PCI.DSS.321", "SageMaker"}
"""A pack is reported once it has a finding, acknowledged or not: the platform's own SageMaker
pack has the Clarify model checks' (stacks/nag_acknowledgements.py)."""
CDK_WARNINGS = "Construct Annotations"
"""With @aws-cdk/core:validateAgainstDefaultRules, CDK's own warnings arrive as a plugin report too."""


def test_example_org_passes_every_pack_with_no_open_findings(org):
    report = json.loads((org.directory / "validation-report.json").read_text())
    plugins = {plugin["pluginName"]: plugin for plugin in report["pluginReports"]}
    # CDK reports its own warnings only while one is left unacknowledged.
    assert EXPECTED_PACKS <= set(plugins) <= EXPECTED_PACKS | {CDK_WARNINGS}
    for plugin in plugins.values():
        assert plugin["conclusion"] == "success"
        assert plugin["violations"] == []


def test_every_acknowledgement_is_used_by_the_example_org(org):
    assert gates.unused_acknowledgements(org.directory, acknowledgements(org.config)) == []


def test_every_acknowledgement_has_a_reviewable_reason(example_config):
    for acknowledgement in acknowledgements(example_config):
        assert "::" in acknowledgement.finding, acknowledgement
        assert len(acknowledgement.reason.split()) >= 10, acknowledgement


def _nested_stage_app(tmp_path: Path) -> cdk.App:
    """App -> Stage -> Stage -> Stack, the shape a CDK pipeline gives its stages."""
    app = cli_app(tmp_path)
    inner = cdk.Stage(cdk.Stage(app, "Outer"), "Inner", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    s3.Bucket(cdk.Stack(inner, "Stack"), "PlantedBucket")  # no access logs, no TLS policy, no KMS: every pack objects
    return app


def test_a_violation_planted_in_a_nested_stage_fails_synth(tmp_path: Path):
    app = _nested_stage_app(tmp_path)
    gates.register(app, acknowledgements=())
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    violations = {
        (plugin["pluginName"], violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    planted = "Outer/Inner/Stack/PlantedBucket/Resource"
    assert ("AwsSolutions", "AwsSolutions-S1", planted) in violations
    assert ("HIPAA.Security", "HIPAA.Security-S3BucketLoggingEnabled", planted) in violations
    assert ("NIST.800.53.R5", "NIST.800.53.R5-S3BucketLoggingEnabled", planted) in violations
    assert ("PCI.DSS.321", "PCI.DSS.321-S3BucketLoggingEnabled", planted) in violations


def test_the_sagemaker_pack_runs_on_every_synth_of_the_organization(tmp_path: Path, example_config):
    """composition.build registers SageMakerChecks: a notebook with root access in a stage
    planted beside the organization's fails the synth with the pack's finding. (The stage is
    new because the platform pipeline synthesizes the organization's stages as it is built;
    nothing may be added to them afterwards.)"""
    app = cli_app(tmp_path)
    build(app, example_config)
    planted = cdk.Stack(
        cdk.Stage(app, "Planted", env=cdk.Environment(account="555555555555", region="eu-west-1")), "Stack"
    )
    sagemaker.CfnNotebookInstance(
        planted,
        "PlantedNotebook",
        instance_type="ml.t3.medium",
        role_arn="arn:aws:iam::555555555555:role/planted",
        direct_internet_access="Disabled",
        subnet_id="subnet-0123456789abcdef0",
        security_group_ids=["sg-0123456789abcdef0"],
        root_access="Enabled",
    )
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (plugin,) = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "SageMaker"]
    assert {(v["ruleName"], c["constructPath"]) for v in plugin["violations"] for c in v["violatingConstructs"]} == {
        ("SageMaker-NotebookNoRootAccess", "Planted/Stack/PlantedNotebook")
    }


def test_findings_fail_the_gate_even_when_cdk_does_not_raise(tmp_path: Path):
    """The CDK CLI runs apps with failSynthOnValidationErrors off: the report must decide."""
    app = cli_app(tmp_path)
    app.node.set_context("@aws-cdk/core:failSynthOnValidationErrors", False)
    inner = cdk.Stage(app, "Account", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    s3.Bucket(cdk.Stack(inner, "Stack"), "PlantedBucket")
    gates.register(app, acknowledgements=())
    app.synth()  # no exception under the CLI's settings
    failures = gates.failures(tmp_path)
    assert (
        "AwsSolutions: AwsSolutions-S1 at Account/Stack/PlantedBucket/Resource: The S3 Bucket has server access logs disabled."
        in failures
    )


def test_the_example_org_has_no_gate_failures(org):
    assert gates.failures(org.directory) == []
    assert gates.limit_violations(org.directory) == []


def test_the_example_orgs_assembly_carries_no_cdk_warning(org):
    """CDK's warnings are fixed or acknowledged (stacks.nag_acknowledgements), and none reaches
    the assembly, where `cdk synth` would print it: the platform pipeline writes each stage's
    assembly as it adds the stage, so acknowledgements are placed before."""
    metadata = [
        (path, entry["data"])
        for file in sorted(org.directory.glob("**/*.metadata.json"))
        for path, entries in json.loads(file.read_text()).items()
        for entry in entries
        if entry["type"] == "aws:cdk:warning"
    ]
    manifests = [
        (name, entry["data"])
        for file in sorted(org.directory.glob("**/manifest.json"))
        for name, artifact in json.loads(file.read_text()).get("artifacts", {}).items()
        for path_entries in artifact.get("metadata", {}).values()
        for entry in path_entries
        if entry["type"] == "aws:cdk:warning"
    ]
    assert metadata + manifests == []


def test_templates_over_cloudformation_limits_are_reported(tmp_path: Path):
    stage = tmp_path / "assembly-Big"
    stage.mkdir()
    resources = {f"Queue{i}": {"Type": "AWS::SQS::Queue"} for i in range(501)}
    outputs = {f"Out{i}": {"Value": "x"} for i in range(201)}
    (stage / "Big.template.json").write_text(json.dumps({"Resources": resources, "Outputs": outputs}))
    (stage / "Huge.template.json").write_text(json.dumps({"Resources": {}, "Description": "x" * 1_000_001}))
    assert gates.limit_violations(tmp_path) == [
        "assembly-Big/Big.template.json: 501 resources, over CloudFormation's 500",
        "assembly-Big/Big.template.json: 201 outputs, over CloudFormation's 200",
        "assembly-Big/Huge.template.json: 1000037 bytes, over CloudFormation's 1000000",
    ]


def test_resources_near_their_service_quotas_are_reported(tmp_path: Path):
    stage = tmp_path / "assembly-Quotas"
    stage.mkdir()
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket/" + "k" * 100}
    big_document = {"Version": "2012-10-17", "Statement": [statement] * 60}
    resources = {
        "Managed": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": big_document}},
        "Small": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [statement]}}},
        "Function": {
            "Type": "AWS::Lambda::Function",
            "Properties": {"Environment": {"Variables": {"DRIFT_ALARMS": "x" * 4_100}}},
        },
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Policies": [{"PolicyDocument": big_document}]}},
        "Inline": {
            "Type": "AWS::IAM::Policy",
            "Properties": {"PolicyDocument": big_document, "Roles": [{"Ref": "Role"}]},
        },
    }
    (stage / "Quotas.template.json").write_text(json.dumps({"Resources": resources}))
    problems = gates.limit_violations(tmp_path)
    assert [problem.split(":")[1].split()[0] for problem in problems] == ["Managed", "Function", "Role"]
    assert "over IAM's managed policy size of 6144" in problems[0]
    assert "Lambda's environment variables size of 4096" in problems[1]
    assert "inline policies, over IAM's 10240" in problems[2]


def test_every_acknowledgement_names_a_construct_of_the_example_org(org):
    """The example builds every option, so an acknowledgement at a path it lacks is a typo, not
    an option left out (for another config, such an acknowledgement is merely not applicable)."""
    acknowledgements_ = acknowledgements(org.config)
    assert gates.applicable(acknowledgements_, gates.construct_paths(org.directory)) == acknowledgements_


def test_an_acknowledgement_of_a_construct_not_built_is_not_applicable(tmp_path: Path):
    app = _nested_stage_app(tmp_path)
    elsewhere = NagAcknowledgement("AwsSolutions::AwsSolutions-S1", "Stack/NoSuchBucket", "reason " * 10)
    gates.register(app, acknowledgements=(elsewhere,))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    assert gates.unused_acknowledgements(tmp_path, (elsewhere,)) == []


@pytest.mark.parametrize("pattern", ["Stack/ReadPolicy", "Stack/R*dPolicy"])  # looked up by name; listed
def test_an_acknowledgement_of_a_policy_covers_its_numbered_parts_only(tmp_path: Path, pattern: str):
    """A role's policy may be packed into parts, `<id>Policy2` onwards (ml_constructs.roles)."""
    app = cli_app(tmp_path)
    stack = cdk.Stack(
        cdk.Stage(app, "Account", env=cdk.Environment(account="123456789012", region="eu-west-1")), "Stack"
    )
    for name in ("ReadPolicy", "ReadPolicy2", "ReadPolicy3", "ReadPolicyForAudit"):
        iam.ManagedPolicy(stack, name, statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["*"])])
    wildcard = NagAcknowledgement("AwsSolutions::AwsSolutions-IAM5[Resource::*]", pattern, "reason " * 10)
    gates.register(app, acknowledgements=(wildcard,))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    (solutions,) = [plugin for plugin in report["pluginReports"] if plugin["pluginName"] == "AwsSolutions"]

    def paths(violations: list[dict[str, Any]]) -> set[str]:
        return {
            construct["constructPath"].split("/")[2]
            for violation in violations
            if violation["ruleName"] == "AwsSolutions-IAM5[Resource::*]"
            for construct in violation["violatingConstructs"]
        }

    assert paths(solutions["suppressedViolations"]) == {"ReadPolicy", "ReadPolicy2", "ReadPolicy3"}
    assert paths(solutions["violations"]) == {"ReadPolicyForAudit"}


def test_an_acknowledgement_that_suppresses_nothing_is_reported(tmp_path: Path):
    app = cli_app(tmp_path)
    stage = cdk.Stage(app, "Account", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    # Compliant: a plain parameter violates no rule of any pack.
    ssm.StringParameter(cdk.Stack(stage, "Compliant"), "Parameter", string_value="value")
    stale = NagAcknowledgement("AwsSolutions::AwsSolutions-S1", "Compliant", "reason " * 10)
    gates.register(app, acknowledgements=(stale,))
    app.synth()
    assert gates.unused_acknowledgements(tmp_path, acknowledgements=(stale,)) == [stale]


def test_acknowledgements_are_exact_findings_on_exact_constructs(tmp_path: Path):
    app = _nested_stage_app(tmp_path)
    # Acknowledging one finding of the bucket leaves its other findings failing the synth.
    only_s1 = NagAcknowledgement("AwsSolutions::AwsSolutions-S1", "Inner/Stack/PlantedBucket", "reason " * 10)
    gates.register(app, acknowledgements=(only_s1,))
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    report = json.loads((tmp_path / "validation-report.json").read_text())
    suppressed = {
        violation["ruleName"]
        for plugin in report["pluginReports"]
        for violation in plugin.get("suppressedViolations", [])
    }
    assert suppressed == {"AwsSolutions-S1"}


def test_cfn_lint_is_clean_on_every_template(org):
    settings = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    templates = [str(path) for path in org.template_files()]
    stackset_templates = [path for path in templates if path.endswith(".stackset.template.json")]
    product_templates = [path for path in templates if path.endswith(".product.template.json")]
    assert len(templates) == len(org.templates) + len(stackset_templates) + len(product_templates)
    # The four products, and the project template again as the ml-dev account's S3-based template.
    assert stackset_templates and len(product_templates) == 5
    matches = lint_by_config(
        ManualArgs(templates=templates, ignore_checks=settings["ignore_checks"], regions=["eu-west-1"])
    )
    assert [str(match) for match in matches] == []
