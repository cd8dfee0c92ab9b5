"""What the guardrail SCPs deny, asked of the IAM evaluator as requests; and the limits they
must stay within."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from ml_constructs import service_control_policies as scp
from proofs.iam import (
    FULL_AWS_ACCESS,
    Policy,
    Principal,
    Request,
    ScpLevel,
    ServiceControlPolicies,
    evaluate,
    principal_context,
)
from stacks.config import ConfigError, parse_config
from stacks.config.models import Guardrail
from stacks.guardrails import guardrail_documents
from tests.conftest import EXAMPLE_CONFIG

DEPLOYER = "arn:aws:iam::777777777777:role/cdk-hnb659fds-cfn-exec-role-777777777777-eu-west-1"
STACKSETS = "arn:aws:iam::777777777777:role/stacksets-exec-0123456789abcdef"
SCIENTIST = "arn:aws:iam::555555555555:role/acme-data-scientist"
MANAGEMENT = "111111111111"
ADMINISTRATOR = Policy(
    "administrator", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)

SUBNETS: dict[str, Any] = {"sagemaker:VpcSubnets": ["subnet-0a"]}
KEYS: dict[str, Any] = {
    "sagemaker:VolumeKmsKey": "arn:aws:kms:eu-west-1:1:key/v",
    "sagemaker:OutputKmsKey": "arn:aws:kms:eu-west-1:1:key/o",
}
ISOLATED: dict[str, Any] = {"sagemaker:NetworkIsolation": "true"}


@pytest.fixture(scope="module")
def documents(example_config) -> dict[Guardrail, dict[str, Any]]:
    return guardrail_documents(example_config)


def denied(
    document: dict[str, Any], action: str, principal: str = SCIENTIST, resource: str = "*", **context: Any
) -> list[str]:
    """Sids of the guardrail's statements that deny `action`. The guardrail is attached as an SCP
    next to FullAWSAccess and the requester is an administrator of the resource's account, so
    the guardrail is the only thing that can deny, and a request it does not deny is allowed."""
    requester = Principal.role(principal)
    context = {**principal_context(requester), "aws:RequestedRegion": "eu-west-1", **context}
    decision = evaluate(
        Request(action, resource, requester, context),
        identity_policies=[ADMINISTRATOR],
        service_control_policies=ServiceControlPolicies(
            [ScpLevel("Root", [FULL_AWS_ACCESS, Policy("guardrail", document)])], management_account=MANAGEMENT
        ),
        resource_account=requester.account,
    )
    denies = [reference.sid or "" for reference in decision.explicit_denies]
    assert decision.allowed == (not denies), decision.explain()
    return denies


class TestProtectBaseline:
    def test_no_account_leaves_the_organization_not_even_the_deployer(self, documents):
        document = documents[Guardrail.PROTECT_BASELINE]
        assert denied(document, "organizations:LeaveOrganization", principal=DEPLOYER) == ["DenyLeavingOrganization"]

    @pytest.mark.parametrize("action", ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:UpdateTrail"])
    def test_the_organization_trail_cannot_be_stopped_or_altered(self, documents, action):
        trail = "arn:aws:cloudtrail:eu-west-1:111111111111:trail/acme-organization-trail"
        document = documents[Guardrail.PROTECT_BASELINE]
        assert denied(document, action, principal=DEPLOYER, resource=trail) == ["ProtectOrganizationTrail"]
        other_trail = "arn:aws:cloudtrail:eu-west-1:555555555555:trail/team-trail"
        assert denied(document, action, resource=other_trail) == []

    @pytest.mark.parametrize("action", ["config:StopConfigurationRecorder", "config:DeleteDeliveryChannel"])
    def test_config_recording_is_protected_except_from_the_deployment_roles(self, documents, action):
        document = documents[Guardrail.PROTECT_BASELINE]
        assert denied(document, action) == ["ProtectConfigRecording"]
        assert denied(document, action, principal=DEPLOYER) == []
        assert denied(document, action, principal=STACKSETS) == []

    def test_flow_logs_and_their_log_group_are_protected(self, documents):
        document = documents[Guardrail.PROTECT_BASELINE]
        group = "arn:aws:logs:eu-west-1:555555555555:log-group:/acme/vpc-flow-logs"
        assert denied(document, "ec2:DeleteFlowLogs") == ["ProtectFlowLogs"]
        assert denied(document, "logs:DeleteLogGroup", resource=group) == ["ProtectFlowLogGroup"]
        assert denied(document, "logs:PutRetentionPolicy", resource=group) == ["ProtectFlowLogGroup"]
        assert denied(document, "logs:DeleteLogGroup", principal=DEPLOYER, resource=group) == []
        other = "arn:aws:logs:eu-west-1:555555555555:log-group:/aws/lambda/anything"
        assert denied(document, "logs:DeleteLogGroup", resource=other) == []


class TestDenyOtherRegions:
    def test_regional_services_only_in_allowed_regions(self, documents):
        document = documents[Guardrail.DENY_OTHER_REGIONS]
        outside = {"aws:RequestedRegion": "us-east-2"}
        inside = {"aws:RequestedRegion": "eu-central-1"}
        assert denied(document, "sagemaker:CreateTrainingJob", **outside) == ["DenyOutsideAllowedRegions"]
        assert denied(document, "s3:CreateBucket", **outside) == ["DenyOutsideAllowedRegions"]
        assert denied(document, "sagemaker:CreateTrainingJob", **inside) == []

    @pytest.mark.parametrize(
        "action", ["iam:CreateRole", "sts:AssumeRole", "organizations:DescribeOrganization", "support:CreateCase"]
    )
    def test_global_services_work_from_any_region(self, documents, action):
        assert denied(documents[Guardrail.DENY_OTHER_REGIONS], action, **{"aws:RequestedRegion": "us-east-1"}) == []


class TestMlWorkloads:
    def test_studio_domains_must_be_vpc_only(self, documents):
        document = documents[Guardrail.ML_WORKLOADS]
        assert denied(document, "sagemaker:CreateDomain") == ["StudioDomainsVpcOnly"]
        assert denied(document, "sagemaker:CreateDomain", **{"sagemaker:AppNetworkAccessType": "PublicInternetOnly"})
        assert denied(document, "sagemaker:CreateDomain", **{"sagemaker:AppNetworkAccessType": "VpcOnly"}) == []

    def test_notebook_instances_without_internet_or_root(self, documents):
        document = documents[Guardrail.ML_WORKLOADS]
        safe = {"sagemaker:DirectInternetAccess": "Disabled", "sagemaker:RootAccess": "Disabled"}
        assert denied(document, "sagemaker:CreateNotebookInstance", **safe) == []
        assert denied(document, "sagemaker:CreateNotebookInstance", **{**safe, "sagemaker:RootAccess": "Enabled"}) == [
            "NotebooksWithoutRoot"
        ]
        assert denied(
            document, "sagemaker:CreateNotebookInstance", **{**safe, "sagemaker:DirectInternetAccess": "Enabled"}
        ) == ["NotebooksWithoutDirectInternet"]
        assert denied(document, "sagemaker:UpdateNotebookInstance", **{"sagemaker:RootAccess": "Enabled"}) == [
            "NotebooksWithoutRoot"
        ]

    def test_a_compliant_training_job_is_allowed(self, documents):
        assert (
            denied(documents[Guardrail.ML_WORKLOADS], "sagemaker:CreateTrainingJob", **SUBNETS, **KEYS, **ISOLATED)
            == []
        )

    @pytest.mark.parametrize(
        "missing,statement",
        [
            ("sagemaker:VpcSubnets", "JobsInVpc"),
            ("sagemaker:VolumeKmsKey", "VolumesEncryptedWithCustomerKey"),
            ("sagemaker:OutputKmsKey", "OutputsEncryptedWithCustomerKey"),
            ("sagemaker:NetworkIsolation", "TrainingAndModelsNetworkIsolated"),
        ],
    )
    def test_a_training_job_missing_one_setting_is_denied_for_that_setting(self, documents, missing, statement):
        context: dict[str, Any] = {**SUBNETS, **KEYS, **ISOLATED}
        del context[missing]
        assert denied(documents[Guardrail.ML_WORKLOADS], "sagemaker:CreateTrainingJob", **context) == [statement]

    def test_isolation_explicitly_off_is_denied(self, documents):
        context: dict[str, Any] = {**SUBNETS, **KEYS, "sagemaker:NetworkIsolation": "false"}
        assert denied(documents[Guardrail.ML_WORKLOADS], "sagemaker:CreateModel", **context) == [
            "TrainingAndModelsNetworkIsolated"
        ]

    def test_each_job_kind_needs_what_its_api_can_express(self, documents):
        document = documents[Guardrail.ML_WORKLOADS]
        # Processing: VPC and keys, but network isolation is not required.
        assert denied(document, "sagemaker:CreateProcessingJob", **SUBNETS, **KEYS) == []
        # Transform jobs take their VPC from the model; they must still name both keys.
        assert denied(document, "sagemaker:CreateTransformJob", **KEYS) == []
        assert denied(document, "sagemaker:CreateTransformJob") == [
            "VolumesEncryptedWithCustomerKey",
            "OutputsEncryptedWithCustomerKey",
        ]
        config = "arn:aws:sagemaker:eu-west-1:111122223333:endpoint-config/{}"
        assert denied(document, "sagemaker:CreateEndpointConfig", resource=config.format("churn")) == [
            "EndpointVolumesEncryptedWithCustomerKey"
        ]
        assert denied(document, "sagemaker:CreateEndpointConfig", resource=config.format("churn"), **KEYS) == []
        # Clarify's shadow endpoints cannot name a key: their configs alone are exempt.
        assert denied(document, "sagemaker:CreateEndpointConfig", resource=config.format("sm-clarify-m-1a2b")) == []
        assert denied(document, "sagemaker:CreateHyperParameterTuningJob", **SUBNETS, **KEYS, **ISOLATED) == []


class TestMlProduction:
    @pytest.mark.parametrize("action", scp.PRODUCTION_CHANGES)
    def test_serving_changes_only_through_deployment_roles(self, documents, action):
        document = documents[Guardrail.ML_PRODUCTION]
        assert denied(document, action) == ["ServingChangesOnlyByDeployment"]
        assert denied(document, action, principal=DEPLOYER) == []

    @pytest.mark.parametrize(
        ("action", "resource"),
        [("sagemaker:DeleteEndpoint", "endpoint"), ("sagemaker:DeleteEndpointConfig", "endpoint-config")],
    )
    def test_clarify_may_delete_its_shadow_endpoints_and_nothing_else(self, documents, action, resource):
        # Feature-attribution monitoring creates a shadow endpoint of the served model for each
        # run and deletes it when the run ends; a guardrail that denied the deletion would
        # leave one behind, billed, after every run.
        document = documents[Guardrail.ML_PRODUCTION]
        arn = f"arn:aws:sagemaker:eu-west-1:777777777777:{resource}/{{}}"
        monitor = "arn:aws:iam::777777777777:role/acme-model-monitor"
        assert denied(document, action, principal=monitor, resource=arn.format("sm-clarify-config-1a2b")) == []
        assert denied(document, action, principal=monitor, resource=arn.format("acme-fraud-detector")) == [
            "ServingChangesOnlyByDeployment"
        ]

    def test_invocations_are_not_affected(self, documents):
        assert denied(documents[Guardrail.ML_PRODUCTION], "sagemaker:InvokeEndpoint") == []

    @pytest.mark.parametrize(
        "workforce,expected",
        [
            ("private-crowd", []),
            ("public-crowd", ["PrivateWorkforcesOnly"]),
            ("vendor-crowd", ["PrivateWorkforcesOnly"]),
        ],
    )
    def test_labeling_jobs_only_with_private_workforces(self, documents, workforce, expected):
        document = documents[Guardrail.ML_PRODUCTION]
        assert denied(document, "sagemaker:CreateLabelingJob", **{"sagemaker:WorkteamType": workforce}) == expected


def test_every_guardrail_only_denies(documents):
    for document in documents.values():
        assert {statement["Effect"] for statement in document["Statement"]} == {"Deny"}


def test_every_guardrail_of_the_example_is_within_the_size_limit(documents):
    for document in documents.values():
        assert len(scp.minified(document)) <= scp.SCP_MAX_CHARACTERS


def test_limit_violations_reports_oversized_documents_and_overcounted_targets():
    oversized = scp.deny_other_regions(
        allowed_regions=["eu-west-1"],
        exempt_roles=[f"arn:aws:iam::*:role/exempt-role-number-{i:03}" for i in range(150)],
    )
    problems = scp.limit_violations(
        {"huge": oversized, "small": scp.ml_workloads()}, {"ou-crowded": ["a", "b", "c", "d", "e"], "ou-fine": ["a"]}
    )
    assert [subject for subject, _ in problems] == ["huge", "ou-crowded"]
    assert "over the limit of 5120" in problems[0][1]
    assert problems[1][1] == "6 SCPs attached (FullAWSAccess included), over the limit of 5"


def test_limit_violations_count_the_scps_an_adopted_ou_has_already():
    """Control Tower attaches its own SCPs to the OUs it registers; with FullAWSAccess they leave
    fewer of the five for the guardrails."""
    attachments = {"ou-controltower": ["a", "b", "c"], "ou-new": ["a", "b", "c"]}
    assert scp.limit_violations({}, attachments, {"ou-controltower": 2}) == []
    assert scp.limit_violations({}, attachments, {"ou-controltower": 3}) == [
        ("ou-controltower", "6 SCPs attached (3 attached already, FullAWSAccess included), over the limit of 5")
    ]


def _example_document() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    return copy.deepcopy(document)


def test_config_with_an_oversized_guardrail_is_rejected_with_its_path():
    document = _example_document()
    document["landing_zone"]["deployment_role_patterns"] = [
        f"arn:aws:iam::*:role/a-rather-long-deployment-role-name-{i:03}-*" for i in range(120)
    ]
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    messages = [str(problem) for problem in caught.value.problems]
    assert any(
        m.startswith("landing_zone.deployment_role_patterns: guardrail protect-baseline: SCP is") for m in messages
    ), messages


def test_config_attaching_a_guardrail_twice_is_rejected():
    document = _example_document()
    document["landing_zone"]["organizational_units"][0]["guardrails"] = ["protect-baseline", "protect-baseline"]
    with pytest.raises(ConfigError) as caught:
        parse_config(document)
    assert "landing_zone.organizational_units.0.guardrails: duplicate name 'protect-baseline'" in [
        str(problem) for problem in caught.value.problems
    ]
