"""The platform's own delivery: a self-mutating CDK pipeline in shared-services that deploys
the organization's stages in the waves of stacks.deployment_order, production last and gated."""

from __future__ import annotations

import json
from typing import Any

import pytest

from stacks.deployment_order import management_stages, pipeline_stages

STACK = "SharedServicesToolchain/Toolchain"


@pytest.fixture(scope="module")
def pipeline(org) -> Any:
    (found,) = [
        r["Properties"]
        for r in org.templates[STACK]["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    ]
    return found


def _stage_names(pipeline: dict[str, Any]) -> list[str]:
    return [stage["Name"] for stage in pipeline["Stages"]]


def test_source_synth_self_mutation_then_the_waves(pipeline):
    assert _stage_names(pipeline)[:4] == ["Source", "Build", "UpdatePipeline", "Assets"]
    source = pipeline["Stages"][0]["Actions"][0]["Configuration"]
    assert source["FullRepositoryId"] == "acme/ml-platform" and source["BranchName"] == "main"
    assert source["ConnectionArn"].startswith("arn:aws:codeconnections:eu-west-1:333333333333:connection/")


def test_the_synth_step_runs_the_developers_gates(org):
    projects = [
        r["Properties"] for r in org.templates[STACK]["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"
    ]
    specs = [json.loads(p["Source"]["BuildSpec"]) for p in projects if "BuildSpec" in p["Source"]]
    synth = next(spec for spec in specs if "make test" in json.dumps(spec))
    assert synth["phases"]["build"]["commands"] == ["make test", "make synth CONFIG=config/example.yaml"]


def test_waves_follow_the_deployment_order_with_production_last_behind_an_approval(org, pipeline):
    names = _stage_names(pipeline)
    deployed = json.dumps(pipeline["Stages"])
    for stage in pipeline_stages(org.config):
        assert stage.stage_id in deployed, stage.stage_id
    assert "Endpoints" not in deployed, "the models' deployment pipelines deploy the endpoints"
    assert names.index("Wave2") < names.index("Wave3") == len(names) - 3
    # The production account's serving behind the approval, then its recovery region's, which
    # attaches a policy to the primary region's model execution role (a wave of one stage is
    # named after the stage).
    first, second = (stage["Actions"] for stage in pipeline["Stages"][-2:])
    assert "MlProdServing" in json.dumps(first) and "MlProdEuCentral1Serving" not in json.dumps(first)
    assert "MlProdEuCentral1Serving" in json.dumps(second) and "Manual" not in json.dumps(second)
    assert first[0]["ActionTypeId"]["Provider"] == "Manual"
    assert first[0]["RunOrder"] < min(a["RunOrder"] for a in first[1:])
    wave2 = json.dumps(pipeline["Stages"][names.index("Wave2")])
    assert "MlProdBaseline" in wave2, "every account's baseline deploys in the one baseline wave"


def test_the_pipeline_never_deploys_to_the_management_account(org, pipeline):
    """The management account's stages change the organization: deployed from it, by hand."""
    deployed = json.dumps(pipeline["Stages"])
    assert {p.stage_id for p in management_stages(org.config)} == {
        "ManagementBaseline",
        "ManagementOrganization",
        "ManagementCatalog",
        "ManagementTrail",
    }
    assert "111111111111" not in deployed
    for stage in management_stages(org.config):
        assert stage.stage_id not in deployed, stage.stage_id


def test_artifacts_are_encrypted_with_the_toolchains_own_key(org):
    resources = org.templates[STACK]["Resources"]
    (bucket,) = [r for r in resources.values() if r["Type"] == "AWS::S3::Bucket"]
    encryption = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    (key,) = [r for r in resources.values() if r["Type"] == "AWS::KMS::Key"]
    assert key["Properties"]["EnableKeyRotation"] is True
