"""Synthesis is offline and its summary tells an admin what each account gets."""

from __future__ import annotations

import json
import platform

from tools.synth_summary import render, summarize


def test_synthesis_needed_no_context_lookup(org):
    manifest = json.loads((org.directory / "manifest.json").read_text())
    assert "missing" not in manifest
    for nested in org.directory.glob("assembly-*/manifest.json"):
        assert "missing" not in json.loads(nested.read_text())


def test_summary_lists_every_stack_with_its_account_and_size(org):
    rows = summarize(org.directory)
    assert {(row.stage, row.account) for row in rows} == {
        (stage_id, stage.account) for stage_id, stage in org.stages.items()
    }
    by_stage = sorted((row.stage, row.resources) for row in rows)
    assert by_stage == sorted((key.split("/")[0], len(t["Resources"])) for key, t in org.templates.items())
    assert all(row.template_bytes > 0 for row in rows)
    assert {row.stack for row in rows} >= {
        "acme-baseline",
        "acme-organization",
        "acme-organization-trail",
        "acme-archive",
        "acme-tooling",
    }
    table = render(rows)
    assert table.splitlines()[0].split() == ["stage", "stack", "account", "region", "resources", "template", "KiB"]
    assert table.splitlines()[-1] == f"{len(rows)} stacks, {sum(row.resources for row in rows)} resources"


def test_no_template_names_the_machine_that_synthesized_it(org):
    """CDK's version reporting (AWS::CDK::Metadata) records the Python and Node versions, so
    the same organization synthesized on another machine would differ; it stays off."""
    files = sorted(org.directory.rglob("*.template.json"))
    assert any(path.name.endswith(".product.template.json") for path in files), "product templates are checked too"
    for path in files:
        text = path.read_text()
        assert "AWS::CDK::Metadata" not in text, path.name
        assert f"Python/{platform.python_version()}" not in text, path.name


def test_what_a_user_opens_after_a_deploy_is_a_named_stack_output(org):
    """`cdk deploy` prints these; CDK's own outputs (cross-stack references) stay as they are."""
    named = {
        (key.split("/")[0], output_id, str(output["Value"]))
        for key, template in org.templates.items()
        for output_id, output in template.get("Outputs", {}).items()
        if not output_id.startswith("PublishOutput")
    }
    assert {(stage, output_id) for stage, output_id, _ in named} == {
        ("MlDevDevelopment", "StudioUrl"),
        ("MlTestServing", "DashboardUrl"),
        ("MlProdServing", "DashboardUrl"),
        ("MlTestServing", "ApiUrlFraudDetector"),
        ("MlTestServing", "ApiUrlChurnPredictor"),
        ("MlProdServing", "ApiUrlFraudDetector"),
        ("MlProdServing", "ApiUrlChurnPredictor"),
        ("MlProdServing", "ApiDomainUrlChurnPredictor"),
        ("MlProdEuCentral1Serving", "ApiUrlChurnPredictor"),
        ("MlProdEuCentral1Serving", "ApiDomainUrlChurnPredictor"),
        ("SharedServicesToolchain", "PlatformPipeline"),
        ("SharedServicesTooling", "DeploymentPipelineFraudDetector"),
        ("SharedServicesTooling", "DeploymentPipelineChurnPredictor"),
    }
    values = {output_id: value for _, output_id, value in named}
    assert values["DeploymentPipelineFraudDetector"] == (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/acme-fraud-detector-deploy/view"
        "?region=eu-west-1"
    )
    assert values["DashboardUrl"].endswith("#dashboards/dashboard/acme-endpoints")
    assert values["ApiDomainUrlChurnPredictor"] == "https://churn.ml.example.com/"
