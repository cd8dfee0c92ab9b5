"""The Control Tower gate: AWS's proactive controls run over every synthesized template, product
and StackSet templates included; every failure of the example organization is acknowledged with
a reason, every acknowledgement is used, a planted violation fails, and docs/control-tower.md is
the example organization's table."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_servicecatalog as servicecatalog
from aws_cdk import aws_sqs as sqs

from ml_constructs.service_catalog import PortableProductStack
from stacks.control_tower import (
    Assembly,
    ControlAcknowledgement,
    Failure,
    Toolkit,
    applicable,
    evaluate,
    failed_resources,
    judge,
    verdicts,
)
from stacks.control_tower_acknowledgements import ACCOUNT_PLACEMENT, ACKNOWLEDGEMENTS
from stacks.synthesized import TEMPLATE_PATTERN
from tests.conftest import ROOT, cli_app
from tools.control_tower import main, render_table

CONTROL_ID = re.compile(r"^CT\.[A-Z0-9-]+\.PR\.\d+$")


@pytest.fixture(scope="module")
def toolkit() -> Toolkit:
    return Toolkit.installed()


@pytest.fixture(scope="module")
def example(org, toolkit) -> tuple[Assembly, list[Failure]]:
    assembly = Assembly(org.directory)
    return assembly, evaluate(assembly, toolkit)


def test_the_pinned_package_ships_cfn_guard_and_the_control_tower_rules(toolkit):
    assert toolkit.guard_version == "cfn-guard 3.1.1"
    assert len(toolkit.controls) == 237
    assert all(CONTROL_ID.match(control.id) and control.evaluated_types for control in toolkit.controls)


def test_the_gate_reads_the_templates_cfn_lint_reads():
    config = yaml.safe_load((ROOT / ".cfnlintrc.yaml").read_text())
    assert config["templates"] == [f"cdk.out/{TEMPLATE_PATTERN}"]


def test_the_example_org_passes_with_every_failure_acknowledged(example):
    assembly, failures = example
    verdict = judge(assembly, failures, ACKNOWLEDGEMENTS)
    assert verdict.unacknowledged == []
    assert verdict.unused == []
    assert verdict.passed
    # Product and StackSet templates are judged too.
    templates = {failure.resource.template for failure in failures}
    assert any(template.endswith(".product.template.json") for template in templates)
    assert any(template.endswith(".stackset.template.json") for template in templates)


def test_every_acknowledgement_names_a_resource_of_the_example_org(example):
    """The example organization builds every option, so an acknowledgement naming none of its
    resources is misspelt (the gate would never find it unused). Those of the account placement,
    which an organization that creates its accounts cannot have, name resources of the adoption
    (tests/test_adoption.py)."""
    assembly, _ = example
    assert applicable(ACKNOWLEDGEMENTS, assembly) == [ack for ack in ACKNOWLEDGEMENTS if ack not in ACCOUNT_PLACEMENT]


def test_every_acknowledgement_is_one_control_on_one_resource_with_a_reviewable_reason(toolkit):
    controls = {control.id for control in toolkit.controls}
    seen = set()
    for ack in ACKNOWLEDGEMENTS:
        assert ack.control in controls, ack
        assert ack.path and ack.path != "*" and not ack.path.endswith("/*"), ack
        assert (ack.control, ack.path) not in seen, ack
        seen.add((ack.control, ack.path))
        assert len(ack.reason.split()) >= 15, ack
        if ack.at_deploy:
            # The reason names what CloudFormation resolves at deploy time.
            assert "resolves at deploy" in ack.reason, ack


def test_the_control_tower_table_in_docs_is_current(example, toolkit):
    """`make control-tower-table` writes it; regenerate it when this fails."""
    assembly, failures = example
    verdict = judge(assembly, failures, ACKNOWLEDGEMENTS)
    table = render_table(toolkit, assembly, verdict, source="`config/example.yaml`")
    assert (ROOT / "docs" / "control-tower.md").read_text() == table


def test_an_unused_acknowledgement_fails_the_gate(example):
    assembly, failures = example
    stale = ControlAcknowledgement(
        "CT.KMS.PR.3", "Baseline/StorageKey", "A planted acknowledgement of a key whose policy passes the control."
    )
    verdict = judge(assembly, failures, (*ACKNOWLEDGEMENTS, stale))
    assert verdict.unused == [stale]
    assert not verdict.passed


def test_an_acknowledgement_covers_only_its_control_and_resource(example):
    assembly, failures = example
    without = tuple(ack for ack in ACKNOWLEDGEMENTS if ack.path != "Catalog/NotebookTemplate/Notebook")
    verdict = judge(assembly, failures, without)
    assert {(f.control, f.resource.path) for f in verdict.unacknowledged} == {
        ("CT.SAGEMAKER.PR.1", "Catalog/NotebookTemplate/Notebook"),
        ("CT.SAGEMAKER.PR.2", "Catalog/NotebookTemplate/Notebook"),
    }


def _planted_app(tmp_path: Path) -> cdk.App:
    """A stage with a stack holding an unencrypted queue, and a Service Catalog product of the
    stack whose template (which carries no construct paths, like the platform's products)
    holds a bucket without any of the platform's defaults."""
    app = cli_app(tmp_path)
    stack = cdk.Stack(
        cdk.Stage(app, "Planted", env=cdk.Environment(account="555555555555", region="eu-west-1")), "Stack"
    )
    sqs.CfnQueue(stack, "PlantedQueue")
    product = PortableProductStack(stack, "PlantedProduct", description="planted")
    s3.CfnBucket(product, "PlantedBucket")
    servicecatalog.CloudFormationProduct(
        stack,
        "Product",
        product_name="planted",
        owner="tests",
        product_versions=[
            servicecatalog.CloudFormationProductVersion(
                cloud_formation_template=servicecatalog.CloudFormationTemplate.from_product_stack(product)
            )
        ],
    )
    return app


def test_violations_planted_in_a_stack_and_in_a_product_template_fail_the_gate(tmp_path, toolkit):
    _planted_app(tmp_path).synth()
    assembly = Assembly(tmp_path)
    verdict = judge(assembly, evaluate(assembly, toolkit), ACKNOWLEDGEMENTS)
    failed = {(failure.control, failure.resource.path) for failure in verdict.unacknowledged}
    assert ("CT.SQS.PR.1", "Stack/PlantedQueue") in failed
    assert ("CT.SQS.PR.2", "Stack/PlantedQueue") in failed
    assert ("CT.S3.PR.2", "Stack/PlantedProduct/PlantedBucket") in failed
    assert ("CT.S3.PR.10", "Stack/PlantedProduct/PlantedBucket") in failed
    product = next(f for f in verdict.unacknowledged if f.resource.logical_id == "PlantedBucket")
    assert product.resource.template.endswith(".product.template.json")
    assert not verdict.passed
    # The command `make synth` runs says so and fails.
    assert main(["control_tower", str(tmp_path)]) == 1


def test_an_acknowledgement_of_the_planted_resource_lets_it_pass(tmp_path, toolkit):
    _planted_app(tmp_path).synth()
    assembly = Assembly(tmp_path)
    failures = evaluate(assembly, toolkit)
    acknowledgements = [
        ControlAcknowledgement(failure.control, failure.resource.path, "planted for the test " * 5)
        for failure in failures
    ]
    verdict = judge(assembly, failures, acknowledgements)
    assert verdict.unacknowledged == []
    assert verdict.unused == []


def test_a_template_judged_before_is_not_judged_again_and_a_changed_one_is(tmp_path, toolkit, monkeypatch):
    """Cached verdicts are those of a fresh run, and a verdict holds only for the content it
    judged: a changed resource is judged again."""
    out = tmp_path / "cdk.out"
    _planted_app(out).synth()
    cache = verdicts(tmp_path / "cache")
    fresh = evaluate(Assembly(out), toolkit)
    assert evaluate(Assembly(out), toolkit, cache=cache) == fresh

    def judged_again(*_: object) -> None:
        raise AssertionError("cfn-guard ran on a copy whose verdict is cached")

    with monkeypatch.context() as patched:
        patched.setattr("stacks.control_tower._judge", judged_again)
        assert evaluate(Assembly(out), toolkit, cache=cache) == fresh

    (template,) = (path for path, t in Assembly(out).templates.items() if "PlantedQueue" in t["Resources"])
    document = json.loads(template.read_text())
    document["Resources"]["PlantedQueue"]["Properties"] = {"SqsManagedSseEnabled": True}
    template.write_text(json.dumps(document))
    changed = evaluate(Assembly(out), toolkit, cache=cache)
    assert changed == evaluate(Assembly(out), toolkit)
    queue = {failure.control for failure in changed if failure.resource.path == "Stack/PlantedQueue"}
    assert "CT.SQS.PR.1" in queue
    assert "CT.SQS.PR.2" not in queue


def test_reduced_copies_give_the_verdicts_of_whole_templates(example, toolkit):
    """The gate runs each rule on copies of the templates reduced to the resource types it
    names; cfn-guard on the whole templates, with every rule their resources call for, must
    fail exactly the same resources."""
    assembly, failures = example
    names = (
        "MlProdServingInferenceApis0",  # functions, permissions, log groups, queues, WAF, API Gateway
        "ManagementCatalogMlopsProjectTemplate",  # a product template
        "ManagementOrganizationBaselineStackSetTemplate",  # the StackSet template
        "MlProdBaseline",  # keys, buckets, VPC
    )
    templates = [path for path in assembly.templates if path.name.startswith(names)]
    assert len(templates) == len(names)
    whole = set()
    for template in templates:
        types = {resource["Type"] for resource in assembly.templates[template]["Resources"].values()}
        rules = [control for control in toolkit.controls if control.evaluated_types & types]
        completed = subprocess.run(
            [
                str(toolkit.guard),
                "validate",
                *(argument for control in rules for argument in ("--rules", str(control.rule_file))),
                "--data",
                str(template),
                "--output-format",
                "json",
                "--show-summary",
                "none",
                "--structured",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert completed.returncode in (0, 19), completed.stderr
        for result in json.loads(completed.stdout):
            for check in result.get("not_compliant") or []:
                for control, logical_id in failed_resources(check):
                    resource = assembly.resources[(template, logical_id)]
                    if resource.type in next(c for c in rules if c.id == control).evaluated_types:
                        whole.add((control, resource.template, logical_id))
    reduced = {
        (failure.control, failure.resource.template, failure.resource.logical_id)
        for failure in failures
        if any(failure.resource.template == str(template.relative_to(assembly.directory)) for template in templates)
    }
    assert reduced == whole
    assert reduced  # the templates were chosen for their failures
