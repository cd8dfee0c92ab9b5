"""The model registry of the ml-dev account, its approval trigger, and the deployment bus."""

from __future__ import annotations

import json
import re
from fnmatch import fnmatchcase
from typing import Any

import pytest
from aws_cdk.assertions import Match

SERVING = {"666666666666", "777777777777"}


@pytest.fixture(scope="module")
def registry(org) -> Any:
    return org.template("MlDevDevelopment", "Registry")


def _accounts(document: Any) -> set[str]:
    return set(re.findall(r"iam::(\d{12}):root", json.dumps(document)))


def test_one_retained_package_group_per_model_readable_by_its_serving_accounts(registry):
    groups = registry.find_resources("AWS::SageMaker::ModelPackageGroup")
    by_name = {g["Properties"]["ModelPackageGroupName"]: g for g in groups.values()}
    assert set(by_name) == {"acme-fraud-detector", "acme-churn-predictor"}
    for group in by_name.values():
        assert group["DeletionPolicy"] == "Retain"
    statements = {
        s["Sid"]: s for s in by_name["acme-fraud-detector"]["Properties"]["ModelPackageGroupPolicy"]["Statement"]
    }
    deploy = statements["ServingAccountsDeployItsPackages"]
    assert _accounts(deploy["Principal"]) == SERVING
    assert sorted(deploy["Action"]) == ["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"]
    assert "model-package/acme-fraud-detector/*" in json.dumps(deploy["Resource"])
    assert statements["ServingAccountsReadTheGroup"]["Action"] == "sagemaker:DescribeModelPackageGroup"


RUN = "fraud-detector/runs/a1b2c3d4e5f6"
"""A pipeline execution's prefix, as the model-build pipeline writes it (ml_pipelines.model_build)."""
READABLE_BY_SERVING = [
    f"{RUN}/model/pipelines-a1b2c3d4e5f6-Train-Xy12/output/model.tar.gz",
    "churn-predictor/tuning/churn-predictor-tune-001-4f2e1a/output/model.tar.gz",
    "churn-predictor/multi-model/segment-retail.tar.gz",
    f"{RUN}/data-quality/statistics.json",
    f"{RUN}/data-quality/constraints.json",
    f"{RUN}/clarify/monitoring-bias/analysis_config.json",
    f"{RUN}/clarify/monitoring-explainability/analysis_config.json",
    f"{RUN}/model-bias/analysis.json",
    f"{RUN}/explainability/analysis.json",
]
"""Models of approved packages, multi-model archives, and the baselines packages register."""
DEVELOPMENT_ONLY = [
    "fraud-detector/input/transactions.csv",
    f"{RUN}/train/train.csv",
    f"{RUN}/validation/validation.csv",
    f"{RUN}/test/test.csv",
    f"{RUN}/baseline/baseline.csv",
    f"{RUN}/clarify/data-bias/analysis_config.json",
    f"{RUN}/checkpoints/model.joblib",
    f"{RUN}/evaluation/evaluation.json",
]
"""Training data, its splits and what is derived from them row by row."""


def object_key_patterns(resources: list[Any], bucket: str) -> list[str]:
    """The object key patterns of S3 ARNs in `bucket` a statement names, however CloudFormation
    spells them (the bucket's Arn attribute, or its name after the partition)."""
    patterns = []
    for resource in resources:
        parts = resource["Fn::Join"][1]
        text = "".join(part if isinstance(part, str) else json.dumps(part) for part in parts)
        assert bucket in text or "Fn::GetAtt" in text, resource
        patterns.append(re.split(rf"{re.escape(bucket)}/|\"Arn\"\]\}}/", text, maxsplit=1)[1])
    return patterns


def test_serving_accounts_read_only_models_and_registered_baselines_decrypting_through_s3(registry):
    registry.has_resource_properties("AWS::S3::Bucket", {"BucketName": "acme-model-artifacts-555555555555-eu-west-1"})
    (policy,) = registry.find_resources("AWS::S3::BucketPolicy").values()
    read = next(
        s
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        if s.get("Sid") == "ServingAccountsReadModelArtifacts"
    )
    assert _accounts(read["Principal"]) == SERVING
    assert read["Action"] == "s3:GetObject"
    patterns = object_key_patterns(read["Resource"], "acme-model-artifacts-555555555555-eu-west-1")
    for key in READABLE_BY_SERVING:
        assert any(fnmatchcase(key, pattern) for pattern in patterns), (key, patterns)
    for key in DEVELOPMENT_ONLY:
        assert not any(fnmatchcase(key, pattern) for pattern in patterns), key
    keys = registry.find_resources(
        "AWS::KMS::Key", {"Properties": {"Description": "Model artifacts, images and approval records"}}
    )
    (key,) = keys.values()
    decrypt = next(
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "ServingAccountsDecryptModelArtifactsThroughS3"
    )
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    assert sorted(decrypt["Action"]) == ["kms:Decrypt", "kms:DescribeKey"]


def test_image_repositories_are_immutable_scanned_encrypted_and_pullable_by_serving_accounts(registry):
    repositories = registry.find_resources("AWS::ECR::Repository")
    by_name = {r["Properties"]["RepositoryName"]: r["Properties"] for r in repositories.values()}
    assert set(by_name) == {"acme/fraud-detector", "acme/churn-predictor"}
    for repository in by_name.values():
        assert repository["ImageTagMutability"] == "IMMUTABLE"
        assert repository["ImageScanningConfiguration"] == {"ScanOnPush": True}
        assert repository["EncryptionConfiguration"]["EncryptionType"] == "KMS"
        (pull,) = repository["RepositoryPolicyText"]["Statement"]
        assert _accounts(pull["Principal"]) == SERVING
        assert "ecr:BatchGetImage" in pull["Action"]


def test_only_decisions_on_the_organizations_groups_invoke_the_approval_function(registry):
    """By name prefix, so the pattern stays under EventBridge's size however many models there
    are; the function acts only on groups with a record (tests/lambda_fns)."""
    registry.has_resource_properties(
        "AWS::Events::Rule",
        {
            "EventPattern": {
                "source": ["aws.sagemaker"],
                "detail-type": ["SageMaker Model Package State Change"],
                "detail": {
                    "ModelPackageGroupName": [{"prefix": "acme-"}],
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            },
            "Targets": [
                Match.object_like(
                    {
                        "RetryPolicy": {"MaximumRetryAttempts": 4, "MaximumEventAgeInSeconds": 21600},
                        "DeadLetterConfig": Match.any_value(),
                    }
                )
            ],
        },
    )


def test_approval_function_knows_each_groups_metric_and_where_to_send_deployments(org, registry):
    (function,) = [
        f for f in registry.find_resources("AWS::Lambda::Function").values() if "MODEL_GROUP_RECORDS" in json.dumps(f)
    ]
    environment = function["Properties"]["Environment"]["Variables"]
    assert environment["MODEL_GROUP_RECORDS"] == "/acme/registry/model-groups"
    records = {
        p["Properties"]["Name"]: json.loads(p["Properties"]["Value"])
        for key, template in org.templates.items()
        if key.startswith("MlDevDevelopment/ModelBuild-")
        for p in template["Resources"].values()
        if p["Type"] == "AWS::SSM::Parameter" and p["Properties"]["Name"].startswith("/acme/registry/model-groups/")
    }
    assert records == {
        "/acme/registry/model-groups/acme-fraud-detector": {
            "model": "fraud-detector",
            "metric": "auc",
            "threshold": 0.8,
            "direction": "maximize",
        },
        "/acme/registry/model-groups/acme-churn-predictor": {
            "model": "churn-predictor",
            "metric": "log_loss",
            "threshold": 0.35,
            "direction": "minimize",
        },
    }
    assert environment["PARAMETER_PREFIX"] == "/acme/models"
    assert "333333333333:event-bus/acme-model-deployments" in json.dumps(environment["DEPLOYMENT_BUS_ARN"])
    assert function["Properties"]["Handler"] == "handler.handler"
    registry.has_resource_properties(
        "AWS::DynamoDB::GlobalTable",
        {
            "TimeToLiveSpecification": {"AttributeName": "expiration", "Enabled": True},
            "SSESpecification": Match.object_like({"SSEEnabled": True, "SSEType": "KMS"}),
        },
    )


def test_deployment_bus_accepts_requests_from_the_organization_only_and_keeps_them(org):
    tooling = org.template("SharedServicesTooling", "Tooling")
    tooling.has_resource_properties(
        "AWS::Events::EventBus", {"Name": "acme-model-deployments", "KmsKeyIdentifier": Match.any_value()}
    )
    (policy,) = tooling.find_resources("AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    tooling.has_resource_properties(
        "AWS::Events::Archive", {"RetentionDays": 365, "EventPattern": {"source": ["platform.model-approval"]}}
    )
