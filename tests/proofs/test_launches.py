"""The launch-permissions proof: each Service Catalog product's launch role may create, update and
delete what the product's template declares, in every account the product launches in.

Regression: the launch roles were written by hand and never checked; the proof found 91 requests
they would have been refused (deleting a feature group, the S3 bucket handler's configuration
calls, the notebook's volume key, tagging, passing the project roles), so launching or
terminating a product failed half-way.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from proofs.context import ProofContext
from proofs.deploy import launches
from proofs.findings import Verdict, failures


@pytest.fixture(scope="module")
def context(org) -> ProofContext:
    return ProofContext.read(org.directory, org.config)


def test_every_product_is_launched_where_it_belongs_as_its_launch_role(context):
    placed = {
        (launch.product, context.account_name(stack.account), stack.execution_role_arn)
        for launch, stack in launches.launched_stacks(context)
    }
    assert placed == {
        ("mlops-project", "ml-dev", "arn:aws:iam::555555555555:role/acme-catalog-launch-project"),
        ("studio-user", "ml-dev", "arn:aws:iam::555555555555:role/acme-catalog-launch-studio-user"),
        ("notebook", "ml-dev", "arn:aws:iam::555555555555:role/acme-catalog-launch-notebook"),
        ("feature-group", "data", "arn:aws:iam::444444444444:role/acme-catalog-launch-feature-group"),
    }


def test_the_example_launch_roles_may_do_what_their_products_need(context):
    findings = launches.prove(context)
    assert failures(findings) == [], "\n".join(f.render() for f in failures(findings))
    # What stays open is named: the project's connection, shared with ml-dev by the admin.
    assert {(f.verdict, f.problem.split(" on ")[0]) for f in findings} == {
        (Verdict.UNDECIDED, "codeconnections:PassConnection"),
        (Verdict.UNDECIDED, "codestar-connections:PassConnection"),
    }


def test_a_launch_role_without_a_handler_permission_fails_the_product(org, tmp_path: Path):
    copy = tmp_path / "cdk.out"
    shutil.copytree(org.directory, copy, ignore=shutil.ignore_patterns("asset.*"))
    data = ProofContext.read(copy, org.config).assembly.stack("DataData/SelfService")
    template = json.loads(data.template_path.read_text())
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::ManagedPolicy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != "sagemaker:DeleteFeatureGroup"] or ["sagemaker:None"]
    data.template_path.write_text(json.dumps(template))

    (failed,) = failures(launches.prove(ProofContext.read(copy, org.config)))
    assert failed.subject.startswith("product feature-group launched in data")
    assert "the launch role may not sagemaker:DeleteFeatureGroup" in failed.problem
    assert "stacks.self_service_stack" in failed.fix
