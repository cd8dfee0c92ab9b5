"""Promotion: the shared-services deployment pipelines take an approved model package through
ml-test, a smoke test and a manual approval to ml-prod, deploying the endpoint stacks that this
same synthesis produced."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ml_pipelines.templates import REGISTERED_BASELINES
from stacks.config.models import Metric, Model
from stacks.sharding import model_deployment_shards

STACK = "SharedServicesTooling/ModelDeployments-0"


def _pipelines(org) -> dict[str, dict[str, Any]]:
    return {
        resource["Properties"]["Name"]: resource["Properties"]
        for resource in org.templates[STACK]["Resources"].values()
        if resource["Type"] == "AWS::CodePipeline::Pipeline"
    }


def _actions(pipeline: dict[str, Any], stage: str) -> dict[str, dict[str, Any]]:
    (found,) = [s for s in pipeline["Stages"] if s["Name"] == stage]
    return {action["Name"]: action for action in found["Actions"]}


def test_one_v2_pipeline_per_model_with_endpoints_in_promotion_order(org):
    pipelines = _pipelines(org)
    assert set(pipelines) == {"acme-fraud-detector-deploy", "acme-churn-predictor-deploy"}
    stages = ["Source", "Synth", "Test", "Approve", "Production"]
    for name, pipeline in pipelines.items():
        # fraud-detector's endpoint serves a challenger beside its champion: it can promote it.
        promotes = ["Promote"] if name == "acme-fraud-detector-deploy" else []
        assert [stage["Name"] for stage in pipeline["Stages"]] == stages + promotes
        assert pipeline["PipelineType"] == "V2"
        assert pipeline["ExecutionMode"] == "SUPERSEDED"
        variables = {variable["Name"]: variable for variable in pipeline["Variables"]}
        assert variables["ModelPackageArn"] == {
            "Name": "ModelPackageArn",
            "Description": "The approved model package to deploy",
        }
        # The package's and the champion's drift-check baselines, when they register them.
        champion = {f"Champion{name}" for name in REGISTERED_BASELINES}
        assert set(variables) == {"ModelPackageArn", "ChampionModelPackageArn", *REGISTERED_BASELINES, *champion}
        assert {variables[name]["DefaultValue"] for name in {*REGISTERED_BASELINES, *champion}} == {"not-registered"}
        assert "DefaultValue" not in variables["ChampionModelPackageArn"], "the starter always sets it"


def test_source_is_the_configured_repository_and_never_starts_the_pipeline_by_itself(org):
    source = _actions(_pipelines(org)["acme-fraud-detector-deploy"], "Source")["Repository"]["Configuration"]
    assert source["ConnectionArn"] == org.config.delivery.connection_arn
    assert source["FullRepositoryId"] == "acme/ml-platform"
    assert source["BranchName"] == "main"
    assert source["DetectChanges"] is False


def test_synth_runs_the_developers_gates_on_the_organizations_config(org):
    (project,) = [
        r["Properties"] for r in org.templates[STACK]["Resources"].values() if r["Type"] == "AWS::CodeBuild::Project"
    ]
    spec = json.loads(project["Source"]["BuildSpec"])
    assert spec["phases"]["build"]["commands"] == ["make synth CONFIG=config/example.yaml"]
    assert spec["artifacts"]["base-directory"] == "cdk.out"
    assert project["Environment"]["PrivilegedMode"] is False
    assert "EncryptionKey" in project


@pytest.mark.parametrize(("stage", "account"), [("Test", "666666666666"), ("Production", "777777777777")])
def test_each_environment_deploys_the_endpoint_stack_with_the_approved_package(org, stage, account):
    deploy = _actions(_pipelines(org)["acme-fraud-detector-deploy"], stage)["Deploy-fraud-detector"]
    configuration = deploy["Configuration"]
    assert configuration["StackName"] == "acme-endpoint-fraud-detector"
    overrides = json.loads(configuration["ParameterOverrides"])
    # The new package is the challenger; the champion stays until a promotion.
    assert overrides["ModelPackageArn"] == "#{variables.ModelPackageArn}"
    assert overrides["ChampionModelPackageArn"] == "#{variables.ChampionModelPackageArn}"
    # Production monitors: against the baselines of the champion, which serves most traffic.
    monitored = set(REGISTERED_BASELINES) if stage == "Production" else set()
    assert set(overrides) == {"ModelPackageArn", "ChampionModelPackageArn", *monitored}
    assert all(overrides[name] == f"#{{variables.Champion{name}}}" for name in monitored)
    assert deploy["RoleArn"] == f"arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-eu-west-1"
    assert configuration["RoleArn"] == f"arn:aws:iam::{account}:role/cdk-hnb659fds-cfn-exec-role-{account}-eu-west-1"
    artifact, path = configuration["TemplatePath"].split("::")
    assert artifact == "Synthesized"
    template = json.loads((org.directory / path).read_text())  # the very template this synthesis wrote
    assert set(template["Parameters"]) >= set(overrides), "every override names a parameter of the stack"
    assert template["Resources"]["Endpoint8024A810"]["Properties"]["EndpointName"] == "acme-fraud-detector"


def test_a_person_promotes_the_challenger_and_then_every_variant_serves_it_monitored_on_its_baselines(org):
    promote = _actions(_pipelines(org)["acme-fraud-detector-deploy"], "Promote")
    assert set(promote) == {"Promote", "Promote-fraud-detector"}
    decision = promote["Promote"]
    assert decision["ActionTypeId"]["Provider"] == "Manual" and decision["RunOrder"] == 1
    assert "NotificationArn" in decision["Configuration"]
    deploy = promote["Promote-fraud-detector"]
    assert deploy["RunOrder"] == 2
    configuration = deploy["Configuration"]
    assert configuration["StackName"] == "acme-endpoint-fraud-detector"
    assert configuration["RoleArn"].startswith("arn:aws:iam::777777777777:role/cdk-hnb659fds-cfn-exec-role")
    overrides = json.loads(configuration["ParameterOverrides"])
    assert overrides["ModelPackageArn"] == overrides["ChampionModelPackageArn"] == "#{variables.ModelPackageArn}"
    assert all(overrides[name] == f"#{{variables.{name}}}" for name in REGISTERED_BASELINES)


def test_the_smoke_test_runs_after_the_test_deployment_with_the_configured_request(org):
    test = _actions(_pipelines(org)["acme-fraud-detector-deploy"], "Test")
    assert test["Deploy-fraud-detector"]["RunOrder"] == 1
    smoke = test["SmokeTest-fraud-detector"]
    assert smoke["RunOrder"] == 2
    parameters = json.loads(smoke["Configuration"]["UserParameters"])
    assert parameters["endpoint"] == "acme-fraud-detector"
    # InService is not enough: a rolled-back update is InService on the previous package.
    assert parameters["model_package_arn"] == "#{variables.ModelPackageArn}"
    assert parameters["max_latency_ms"] == 1000
    assert parameters["payload"].startswith("17.99,10.38")
    churn = _actions(_pipelines(org)["acme-churn-predictor-deploy"], "Test")["SmokeTest-churn-predictor"]
    assert "payload" not in json.loads(churn["Configuration"]["UserParameters"]), "no payload configured"


def test_production_waits_for_a_manual_approval_announced_on_an_encrypted_topic(org):
    approve = _actions(_pipelines(org)["acme-fraud-detector-deploy"], "Approve")["Approve"]
    assert approve["ActionTypeId"]["Provider"] == "Manual"
    assert "NotificationArn" in approve["Configuration"]
    assert "#{variables.ModelPackageArn}" in approve["Configuration"]["CustomData"]
    (topic,) = [r for r in org.templates[STACK]["Resources"].values() if r["Type"] == "AWS::SNS::Topic"]
    assert "KmsMasterKeyId" in topic["Properties"]


def test_the_starter_listens_on_the_deployment_bus_and_knows_each_models_registry(org):
    resources = org.templates[STACK]["Resources"]
    (rule,) = [r["Properties"] for r in resources.values() if r["Type"] == "AWS::Events::Rule"]
    assert rule["EventPattern"] == {
        "source": ["platform.model-approval"],
        "detail-type": ["Model Package Approved For Deployment"],
    }
    assert "DeadLetterConfig" in rule["Targets"][0]
    starter = next(
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Function" and "PIPELINES" in json.dumps(r["Properties"].get("Environment", {}))
    )
    assert json.loads(starter["Environment"]["Variables"]["BASELINE_VARIABLES"]) == sorted(REGISTERED_BASELINES)
    assert json.loads(starter["Environment"]["Variables"]["PIPELINES"]) == {
        "churn-predictor": {
            "pipeline": "acme-churn-predictor-deploy",
            "registry_account": "555555555555",
            "promotes": False,
        },
        "fraud-detector": {
            "pipeline": "acme-fraud-detector-deploy",
            "registry_account": "555555555555",
            "promotes": True,
        },
    }
    # It finds the champion in the history of the pipelines that promote, and no other.
    policies = [
        statement
        for r in resources.values()
        if r["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in r["Properties"]["PolicyDocument"]["Statement"]
        if statement.get("Sid") == "FindTheChampion"
    ]
    (find,) = policies
    assert json.dumps(find["Resource"]).count("acme-fraud-detector-deploy") == 1
    assert "acme-churn-predictor-deploy" not in json.dumps(find["Resource"])


def test_smoke_test_function_may_assume_only_the_test_accounts_smoke_test_role(org):
    resources = org.templates[STACK]["Resources"]
    assert [
        r
        for r in resources.values()
        if r["Type"] == "AWS::IAM::Role" and r["Properties"].get("RoleName") == "acme-smoke-test"
    ], "the name the test accounts' smoke-test roles trust"
    policies = json.dumps([r for r in resources.values() if r["Type"] == "AWS::IAM::ManagedPolicy"])
    assert ":iam::666666666666:role/acme-smoke-test" in policies
    assert ":iam::777777777777:role/acme-smoke-test" not in policies


def test_serving_accounts_may_read_the_artifacts_through_their_deploy_roles_only(org):
    resources = org.templates[STACK]["Resources"]
    (policy,) = [r for r in resources.values() if r["Type"] == "AWS::S3::BucketPolicy"]
    text = json.dumps(policy)
    for account in ("666666666666", "777777777777"):
        assert f"cdk-hnb659fds-deploy-role-{account}-eu-west-1" in text


def test_every_pipeline_invokes_the_one_smoke_test_function_by_name(org):
    (function,) = [
        r["Properties"]
        for r in org.templates[STACK]["Resources"].values()
        if r["Type"] == "AWS::Lambda::Function" and r["Properties"].get("FunctionName") == "acme-smoke-test"
    ]
    for pipeline in _pipelines(org).values():
        smoke = _actions(pipeline, "Test")
        for action in (a for name, a in smoke.items() if name.startswith("SmokeTest-")):
            assert action["Configuration"]["FunctionName"] == "acme-smoke-test"
    assert function["Handler"] == "handler.handler"


def test_many_models_with_endpoints_spread_over_deployment_stacks():
    models = [Model(name=f"model-{i:03}", team="churn", metric=Metric(name="auc", threshold=0.7)) for i in range(45)]
    shards = model_deployment_shards(models)
    assert len(shards) == 3 and sum(map(len, shards)) == 45
    # About 15 resources a pipeline: even an unlucky shard stays far under 500.
    assert max(map(len, shards)) * 15 < 500
