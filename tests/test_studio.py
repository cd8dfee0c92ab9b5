"""The ml-dev account's data-science environment: domain, team roles, users and spaces."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from ml_constructs.personas import CLARIFY_SHADOW_ENDPOINTS
from ml_constructs.service_control_policies import CLARIFY_SHADOW_ENDPOINT_CONFIGS

STAGE = "MlDevDevelopment"


@pytest.fixture(scope="module")
def studio(org) -> Any:
    return org.template(STAGE, "Studio")


def _only(template, resource_type: str) -> dict[str, Any]:
    (resource,) = template.find_resources(resource_type).values()
    properties: dict[str, Any] = resource["Properties"]
    return properties


def test_development_stage_holds_studio_team_model_build_and_user_stacks(org):
    stacks = {key.split("/")[1] for key in org.templates if key.startswith(f"{STAGE}/")}
    assert stacks == {
        "Studio",
        "Registry",
        "Team-fraud",
        "Team-churn",
        "ModelBuild-fraud-0",
        "ModelBuild-churn-0",
        "StudioUsers-fraud-0",
        "StudioUsers-churn-0",
        "SelfService",
    }
    assert org.stages[STAGE].account == "555555555555"


def test_domain_is_vpc_only_encrypted_and_without_docker(studio):
    domain = _only(studio, "AWS::SageMaker::Domain")
    (key_id,) = studio.find_resources("AWS::KMS::Key", {"Properties": {"Description": "Team data, jobs and Studio"}})
    assert domain["AppNetworkAccessType"] == "VpcOnly"
    assert domain["AuthMode"] == "IAM"
    assert domain["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    # One subnet per zone, split at deploy time out of the baseline's SSM parameter.
    assert [subnet["Fn::Select"][0] for subnet in domain["SubnetIds"]] == [0, 1]
    assert domain["VpcId"]["Ref"].startswith("SsmParameterValueacmebaselinevpcid")
    assert domain["DomainSettings"]["DockerSettings"] == {"EnableDockerAccess": "DISABLED"}


def test_jupyterlab_is_the_default_with_idle_shutdown_and_the_package_mirror(studio):
    settings = _only(studio, "AWS::SageMaker::Domain")["DefaultUserSettings"]
    assert settings["DefaultLandingUri"] == "studio::"
    assert settings["StudioWebPortalSettings"] == {"HiddenAppTypes": ["JupyterServer"]}
    lab = settings["JupyterLabAppSettings"]
    assert lab["AppLifecycleManagement"]["IdleSettings"] == {
        "LifecycleManagement": "ENABLED",
        "IdleTimeoutInMinutes": 60,
        "MinIdleTimeoutInMinutes": 60,
        "MaxIdleTimeoutInMinutes": 240,
    }
    (config_id,) = studio.find_resources("AWS::SageMaker::StudioLifecycleConfig")
    assert lab["LifecycleConfigArns"] == [{"Fn::GetAtt": [config_id, "StudioLifecycleConfigArn"]}]
    assert lab["DefaultResourceSpec"]["InstanceType"] == "ml.t3.medium"
    config = _only(studio, "AWS::SageMaker::StudioLifecycleConfig")
    assert config["StudioLifecycleConfigAppType"] == "JupyterLab"
    script = base64.b64decode(config["StudioLifecycleConfigContent"]).decode()
    assert (
        "aws codeartifact login --tool pip --region eu-west-1 --domain acme --domain-owner 333333333333 "
        "--repository pypi"
    ) in script


def test_domain_security_group_reaches_only_itself_and_aws_apis(studio):
    groups = studio.find_resources("AWS::EC2::SecurityGroup")
    studio_group = next(g for g in groups.values() if g["Properties"]["GroupDescription"].startswith("Studio apps"))
    egress = studio_group["Properties"]["SecurityGroupEgress"]
    # HTTPS anywhere: the S3 gateway's traffic goes to S3's prefix list, outside the VPC's CIDR;
    # the isolated VPC routes nowhere else (tests/proofs/test_network.py proves the paths).
    assert egress == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "AWS APIs via endpoints",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert "SecurityGroupIngress" not in studio_group["Properties"]  # only the self-referencing rule below
    studio.has_resource_properties(
        "AWS::EC2::SecurityGroupIngress",
        {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "SourceSecurityGroupId": Match.any_value()},
    )


def test_default_execution_role_can_do_nothing(studio):
    default_role = studio.find_resources(
        "AWS::IAM::Role", {"Properties": {"Description": Match.string_like_regexp("^Studio default")}}
    )
    (role_id,) = default_role
    assert "ManagedPolicyArns" not in default_role[role_id]["Properties"]
    assert "Policies" not in default_role[role_id]["Properties"]


def test_no_template_uses_sagemaker_full_access(org):
    for template in org.templates.values():
        assert "SageMakerFullAccess" not in json.dumps(template)


def _policy_statements(template, description_start: str) -> dict[str, dict[str, Any]]:
    policies = template.find_resources(
        "AWS::IAM::ManagedPolicy", {"Properties": {"Description": Match.string_like_regexp(f"^{description_start}")}}
    )
    # A role's policy may come in parts (ml_constructs.roles): their statements together.
    assert policies
    statements = [s for policy in policies.values() for s in policy["Properties"]["PolicyDocument"]["Statement"]]
    return {s["Sid"]: s for s in statements if "Sid" in s}


def test_data_scientists_create_jobs_only_in_the_vpc_with_the_key_and_isolated(org):
    team = org.template(STAGE, "Team-fraud")
    statements = _policy_statements(team, "Studio execution role of team fraud's data scientists")
    training = statements["TrainingInVpcEncryptedIsolated"]
    assert set(training["Action"]) == {"sagemaker:CreateTrainingJob", "sagemaker:CreateHyperParameterTuningJob"}
    condition = training["Condition"]
    assert condition["Null"] == {"sagemaker:VpcSubnets": "false"}
    assert [s["Fn::Select"][0] for s in condition["ForAllValues:StringEquals"]["sagemaker:VpcSubnets"]] == [0, 1]
    assert condition["Bool"] == {"sagemaker:NetworkIsolation": "true"}
    assert set(condition["StringEquals"]) == {"sagemaker:VolumeKmsKey", "sagemaker:OutputKmsKey"}
    assert set(statements["ModelsInVpcIsolated"]["Condition"]) == {"ForAllValues:StringEquals", "Null", "Bool"}
    assert set(statements["TransformEncrypted"]["Condition"]["StringEquals"]) == {
        "sagemaker:VolumeKmsKey",
        "sagemaker:OutputKmsKey",
    }
    pass_role = statements["PassOnlyTheJobRole"]
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}
    assert pass_role["Resource"]["Fn::GetAtt"][0].startswith("RolesJobExecution")
    assert "RunTeamPipelines" not in statements and "ApproveTeamModels" not in statements


def test_only_the_job_role_manages_clarifys_shadow_endpoints_and_only_those(org):
    team = org.template(STAGE, "Team-fraud")
    shadow = _policy_statements(team, "SageMaker jobs of team fraud")["ClarifyShadowEndpoints"]
    assert {"sagemaker:CreateEndpointConfig", "sagemaker:InvokeEndpoint", "sagemaker:DeleteEndpoint"} <= set(
        shadow["Action"]
    )
    resources = json.dumps(shadow["Resource"])
    assert resources.count(":endpoint/sm-clarify-*") == resources.count(":endpoint-config/sm-clarify-*") == 1
    # The exemption of the ml-workloads guardrail is exactly what the job role may create.
    assert CLARIFY_SHADOW_ENDPOINT_CONFIGS.endswith(f"endpoint-config/{CLARIFY_SHADOW_ENDPOINTS}")
    for persona in ("data scientists", "ML engineers"):
        statements = _policy_statements(team, f"Studio execution role of team fraud's {persona}")
        assert "sm-clarify" not in json.dumps(statements) and "ClarifyShadowEndpoints" not in statements


def test_ml_engineers_also_run_pipelines_and_approve_their_teams_models(org):
    team = org.template(STAGE, "Team-fraud")
    statements = _policy_statements(team, "Studio execution role of team fraud's ML engineers")
    approve = statements["ApproveTeamModels"]
    assert approve["Action"] == "sagemaker:UpdateModelPackage"
    assert json.dumps(approve["Resource"]).count("model-package/acme-fraud-detector*") == 1
    assert "acme-churn-predictor" not in json.dumps(statements)
    assert json.dumps(statements["RunTeamPipelines"]["Resource"]).count("pipeline/acme-fraud-detector*") == 1


def test_users_get_a_profile_and_private_space_with_their_personas_role(org):
    users = org.template(STAGE, "StudioUsers-fraud-0")
    profiles = {
        p["Properties"]["UserProfileName"]: p["Properties"]
        for p in users.find_resources("AWS::SageMaker::UserProfile").values()
    }
    assert set(profiles) == {"fraud-alice", "fraud-bob", "fraud-carol"}
    # Cross-stack references to the team stack's role outputs.
    roles = {name: json.dumps(profile["UserSettings"]["ExecutionRole"]) for name, profile in profiles.items()}
    assert "MlEngineer" in roles["fraud-carol"] and "DataScientist" in roles["fraud-alice"]
    assert {"Key": "platform:user", "Value": "alice"} in profiles["fraud-alice"]["Tags"]
    assert {"Key": "platform:team", "Value": "fraud"} in profiles["fraud-alice"]["Tags"]
    spaces = {
        s["Properties"]["SpaceName"]: s["Properties"] for s in users.find_resources("AWS::SageMaker::Space").values()
    }
    assert set(spaces) == set(profiles)
    for name, space in spaces.items():
        assert space["OwnershipSettings"] == {"OwnerUserProfileName": name}
        assert space["SpaceSharingSettings"] == {"SharingType": "Private"}
        assert space["SpaceSettings"] == {"AppType": "JupyterLab"}


def test_teams_that_ask_for_it_get_a_shared_space(org):
    churn = org.template(STAGE, "StudioUsers-churn-0")
    churn.has_resource_properties(
        "AWS::SageMaker::Space", {"SpaceName": "churn-shared", "SpaceSharingSettings": {"SharingType": "Shared"}}
    )
    assert "fraud-shared" not in json.dumps(org.templates[f"{STAGE}/StudioUsers-fraud-0"])


def test_teardown_runs_before_profiles_and_spaces_are_deleted(org):
    users = org.templates[f"{STAGE}/StudioUsers-fraud-0"]["Resources"]
    (teardown_id,) = [i for i, r in users.items() if r["Type"] == "Custom::StudioTeardown"]
    teardown = users[teardown_id]
    members = {i for i, r in users.items() if r["Type"] in ("AWS::SageMaker::UserProfile", "AWS::SageMaker::Space")}
    assert set(teardown["DependsOn"]) == members
    assert teardown["Properties"]["Scope"] == "members"
    assert teardown["Properties"]["UserProfiles"] == ["fraud-alice", "fraud-bob", "fraud-carol"]


def test_domain_teardown_clears_the_whole_domain(studio):
    studio.has_resource_properties("Custom::StudioTeardown", {"Scope": "domain", "UserProfiles": [], "Spaces": []})


def test_teardown_function_follows_the_platform_function_shape(studio):
    function = _only(studio, "AWS::Lambda::Function")
    assert function["Runtime"] == "python3.14"
    assert function["Handler"] == "handler.handler"
    assert "ReservedConcurrentExecutions" not in function
    assert function["Timeout"] == 900
    assert "DeadLetterConfig" in function and "VpcConfig" in function
    (layer,) = function["Layers"]
    assert layer["Ref"].startswith("SsmParameterValueawsservicepowertoolspythonx8664python3143370")
    alarm = _only(studio, "AWS::CloudWatch::Alarm")
    assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
    (action,) = alarm["AlarmActions"]
    assert action["Ref"].startswith("SsmParameterValueacmebaselinealertstopicarn")
    studio.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})


def test_domain_id_is_published_for_self_service(studio):
    studio.has_resource_properties("AWS::SSM::Parameter", {"Name": "/acme/studio/domain-id"})
