"""The data account's central Feature Store."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk.assertions import Match

STAGE = "DataData"


@pytest.fixture(scope="module")
def store(org) -> Any:
    return org.template(STAGE, "FeatureStore")


@pytest.fixture(scope="module")
def groups(org) -> dict[str, dict[str, Any]]:
    resources = org.templates[f"{STAGE}/FeatureGroups0"]["Resources"]
    return {
        r["Properties"]["FeatureGroupName"]: r
        for r in resources.values()
        if r["Type"] == "AWS::SageMaker::FeatureGroup"
    }


def test_offline_store_is_encrypted_tiered_and_retained(store):
    (key_id,) = store.find_resources("AWS::KMS::Key")
    store.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketName": "acme-feature-store-444444444444-eu-west-1",
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        Match.object_like(
                            {
                                "ServerSideEncryptionByDefault": {
                                    "SSEAlgorithm": "aws:kms",
                                    "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                                }
                            }
                        )
                    ]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "LifecycleConfiguration": {
                    "Rules": [
                        Match.object_like({"Transitions": [{"StorageClass": "STANDARD_IA", "TransitionInDays": 30}]})
                    ]
                },
            },
        },
    )
    store.has_resource_properties("AWS::Glue::Database", {"DatabaseInput": {"Name": "acme_feature_store"}})


def test_feature_groups_have_the_configured_definitions(groups):
    assert set(groups) == {"acme-customer-transactions", "acme-customer-profile"}
    transactions = groups["acme-customer-transactions"]["Properties"]
    assert transactions["RecordIdentifierFeatureName"] == "customer_id"
    assert transactions["EventTimeFeatureName"] == "event_time"
    assert transactions["FeatureDefinitions"] == [
        {"FeatureName": "customer_id", "FeatureType": "String"},
        {"FeatureName": "event_time", "FeatureType": "Fractional"},
        {"FeatureName": "txn_count_24h", "FeatureType": "Integral"},
        {"FeatureName": "txn_amount_avg_24h", "FeatureType": "Fractional"},
    ]
    assert {"Key": "platform:team", "Value": "fraud"} in transactions["Tags"]
    for group in groups.values():
        assert group["DeletionPolicy"] == "Retain"


def test_online_store_is_encrypted_with_the_configured_ttl(groups):
    online = groups["acme-customer-transactions"]["Properties"]["OnlineStoreConfig"]
    assert online["EnableOnlineStore"] is True
    assert online["TtlDuration"] == {"Unit": "Days", "Value": 30}
    assert "KmsKeyId" in online["SecurityConfig"]
    assert "OnlineStoreConfig" not in groups["acme-customer-profile"]["Properties"]


def test_offline_store_is_encrypted_iceberg_in_the_catalog(groups):
    offline = groups["acme-customer-profile"]["Properties"]["OfflineStoreConfig"]
    assert offline["TableFormat"] == "Iceberg"
    assert "KmsKeyId" in offline["S3StorageConfig"]
    assert offline["DataCatalogConfig"] == {
        "Catalog": "AwsDataCatalog",
        "Database": "acme_feature_store",
        "TableName": "customer_profile",
    }
    assert "RoleArn" in groups["acme-customer-profile"]["Properties"]


def _trust(store, role_name: str) -> list[dict[str, Any]]:
    roles = store.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": role_name}})
    (role,) = roles.values()
    statements: list[dict[str, Any]] = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    return statements


def _accounts(statements: list[dict[str, Any]]) -> set[str]:
    """The account ids of the `arn:...:iam::<id>:root` principals, however CDK wrote them."""
    return set(re.findall(r"iam::(\d{12}):root", json.dumps([s["Principal"] for s in statements])))


def test_development_and_production_accounts_of_the_organization_may_read_features(store):
    statements = _trust(store, "acme-feature-store-consumer")
    assert _accounts(statements) == {"555555555555", "777777777777"}
    for statement in statements:
        assert statement["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}


def test_development_accounts_may_ingest_features(store):
    assert _accounts(_trust(store, "acme-feature-store-producer")) == {"555555555555"}


def test_consumers_read_and_never_write(store):
    policies = store.find_resources(
        "AWS::IAM::ManagedPolicy", {"Properties": {"Description": Match.string_like_regexp("^Read features")}}
    )
    (policy,) = policies.values()
    actions = {
        a
        for s in policy["Properties"]["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert "sagemaker:GetRecord" in actions
    assert not [
        a
        for a in actions
        if a.startswith(
            ("sagemaker:Put", "sagemaker:Delete", "s3:Put", "s3:Delete", "kms:Encrypt", "kms:GenerateDataKey")
        )
    ]
