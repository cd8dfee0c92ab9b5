"""Stable identities: stateful resources keep their logical ids, and whole templates are
snapshotted (asset hashes masked, so editing a handler does not churn the snapshots)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from syrupy.extensions.json import JSONSnapshotExtension

from tests.test_baseline import OTHER_STAGES, WORKLOAD_STAGES

# Renaming one of these replaces the resource: a new key (old data unreadable), an empty
# bucket, a new VPC. A failure here means a refactor changed an identity: restore the id.
PINNED_IN_EVERY_BASELINE = {
    "StorageKeyB6649B55": "AWS::KMS::Key",
    "LogsKeyA6AB43B2": "AWS::KMS::Key",
    "AccessLogs8B620ECA": "AWS::S3::Bucket",
}
PINNED_IN_WORKLOAD_BASELINES = {
    "NetworkVpc7FB7348F": "AWS::EC2::VPC",
    "NetworkFlowLogs2BEC3212": "AWS::Logs::LogGroup",
}

PINNED_IN_ROLE_STACKS = {
    "ManagementOrganization/Organization": {
        "OrganizationalUnitssecurity345F861D": "AWS::Organizations::OrganizationalUnit",
        "OrganizationalUnitsworkloadsC196A85A": "AWS::Organizations::OrganizationalUnit",
        "OrganizationalUnitsmlprod3744DE85": "AWS::Organizations::OrganizationalUnit",
        "AccountmlprodAccountAB69C1CE": "AWS::Organizations::Account",
        "NotificationsKey74C0825E": "AWS::KMS::Key",
    },
    "ManagementTrail/Trail": {
        "OrganizationTrail32B0521E": "AWS::CloudTrail::Trail",
        "OrganizationTrailLogGroupB83451B1": "AWS::Logs::LogGroup",
    },
    "LogArchiveArchive/Archive": {
        "TrailArchiveKey932D2B96": "AWS::KMS::Key",
        "TrailArchiveBucketB929F37C": "AWS::S3::Bucket",
    },
    "MlDevDevelopment/Studio": {
        "DataKey17AFBB84": "AWS::KMS::Key",
        "StudioDomain20F5E462": "AWS::SageMaker::Domain",
    },
    "MlDevDevelopment/Team-fraud": {"Bucket83908E77": "AWS::S3::Bucket"},
    # A pipeline's executions and their lineage belong to the resource (same name, new id: a clash).
    "MlDevDevelopment/ModelBuild-fraud-0": {"PipelinefrauddetectorPipeline07A2C411": "AWS::SageMaker::Pipeline"},
    "MlProdServing/Serving": {
        "ServingKeyF5DE76B6": "AWS::KMS::Key",
        "DataCapture91154E3A": "AWS::S3::Bucket",
    },
    "SharedServicesTooling/ModelDeployments-0": {"Artifacts82DD59A1": "AWS::S3::Bucket"},
    # A new logical id would create a second endpoint of the same name: a failed deployment.
    "MlProdEndpoints/Endpoint-fraud-detector": {"Endpoint8024A810": "AWS::SageMaker::Endpoint"},
    "MlDevDevelopment/StudioUsers-fraud-0": {
        "MembersfraudaliceF49B93B4": "AWS::SageMaker::UserProfile",
        "Membersfraudalicespace692C469E": "AWS::SageMaker::Space",
    },
    "DataData/FeatureStore": {
        "FeatureStoreKey96625F8F": "AWS::KMS::Key",
        "OfflineStoreA8EF6C00": "AWS::S3::Bucket",
        "Catalog": "AWS::Glue::Database",
    },
    "DataData/FeatureGroups0": {
        "customertransactions": "AWS::SageMaker::FeatureGroup",
        "customerprofile": "AWS::SageMaker::FeatureGroup",
    },
    "SharedServicesTooling/Tooling": {
        "PackagesKey2B9CDC27": "AWS::KMS::Key",
        "PackageMirrorDomain9F6965BE": "AWS::CodeArtifact::Domain",
        "PackageMirrorPublicPyPiCache6A7CD99C": "AWS::CodeArtifact::Repository",
        "PackageMirrorPyPi3FB453EA": "AWS::CodeArtifact::Repository",
    },
}

ASSET_HASH = re.compile(r"\b[0-9a-f]{64}\b")


@pytest.mark.parametrize("stage", WORKLOAD_STAGES + OTHER_STAGES)
def test_stateful_resources_keep_their_logical_ids(org, stage):
    resources = org.templates[f"{stage}/Baseline"]["Resources"]
    pinned = dict(PINNED_IN_EVERY_BASELINE)
    if stage in WORKLOAD_STAGES:
        pinned |= PINNED_IN_WORKLOAD_BASELINES
    assert {logical_id: resources.get(logical_id, {}).get("Type") for logical_id in pinned} == pinned


@pytest.mark.parametrize("stack", PINNED_IN_ROLE_STACKS)
def test_landing_zone_stateful_resources_keep_their_logical_ids(org, stack):
    resources = org.templates[stack]["Resources"]
    pinned = PINNED_IN_ROLE_STACKS[stack]
    assert {logical_id: resources.get(logical_id, {}).get("Type") for logical_id in pinned} == pinned


def mask_asset_hashes(template: dict[str, Any]) -> Any:
    """The template with asset hashes masked."""
    return json.loads(ASSET_HASH.sub("<asset-hash>", json.dumps(template)))


@pytest.mark.parametrize("stage", ["ManagementBaseline", "MlDevBaseline", "MlProdBaseline"])
def test_baseline_template_snapshot(org, stage, snapshot):
    assert mask_asset_hashes(org.templates[f"{stage}/Baseline"]) == snapshot.use_extension(JSONSnapshotExtension)


@pytest.mark.parametrize("stack", PINNED_IN_ROLE_STACKS)
def test_landing_zone_template_snapshot(org, stack, snapshot):
    assert mask_asset_hashes(org.templates[stack]) == snapshot.use_extension(JSONSnapshotExtension)


def test_masking_replaces_asset_hashes_only():
    digest = "0123456789abcdef" * 4
    template = {"S3Key": f"{digest}.zip", "Account": "777777777777"}
    assert mask_asset_hashes(template) == {"S3Key": "<asset-hash>.zip", "Account": "777777777777"}
