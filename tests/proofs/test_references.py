"""The references proof: one failing and one passing assembly per rule, each a tiny hand-written
cloud assembly whose stages are the example organization's (so their waves, accounts and
bootstrap are the example's), and the example organization, which must pass."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.iam.aws_managed_policies import aws_managed_policies_data

from proofs import references
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict
from proofs.preflight import PROOFS
from proofs.references.catalog import LAUNCH_SCOPES, hub_account_findings
from proofs.references.collect import STORED
from proofs.references.known import AWS_MANAGED_POLICIES, AWS_OWNED, CONFIG_SUPPLIED
from proofs.references.rules import Rule
from tests.proofs.assemblies import REGION, S, role, template

MANAGEMENT, SHARED, DATA, DEV, TEST, PROD = (
    "111111111111",
    "333333333333",
    "444444444444",
    "555555555555",
    "666666666666",
    "777777777777",
)
OUTSIDER = "123456789012"


def published(name: str, value: Any = "value") -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter", "Properties": {"Name": name, "Type": "String", "Value": value}}


def ssm_type(name: str) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter::Value<String>", "Default": name}


def topic(**properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SNS::Topic", "Properties": properties}


def role_arn(account: str, name: str) -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def found(context: ProofContext) -> list[Finding]:
    return references.prove(context)


def only(findings: list[Finding], rule: Rule, verdict: Verdict = Verdict.FAILS) -> Finding:
    (finding,) = findings
    assert (finding.rule, finding.verdict) == (str(rule), verdict), finding.render()
    return finding


# --- SSM parameter types, dynamic references, stack outputs, exports ---------------------------


def test_an_ssm_parameter_an_earlier_wave_publishes_passes(assemble):
    context = assemble(
        S("MlDevBaseline", "Baseline", template({"Vpc": published("/acme/baseline/vpc-id")})),
        S(
            "MlDevDevelopment",
            "Studio",
            template({"Topic": topic()}, Parameters={"Vpc": ssm_type("/acme/baseline/vpc-id")}),
        ),
    )
    assert found(context) == []


def test_an_ssm_parameter_no_stack_publishes_fails(assemble):
    context = assemble(
        S(
            "MlDevDevelopment",
            "Studio",
            template({"Topic": topic()}, Parameters={"Vpc": ssm_type("/acme/baseline/vpc")}),
        )
    )
    finding = only(found(context), Rule.SSM_PARAMETER_TYPE)
    assert finding.subject == "MlDevDevelopment/Studio Parameters/Vpc"
    assert (
        "SSM parameter /acme/baseline/vpc" in finding.problem
        and "no stack of the assembly publishes" in finding.problem
    )
    assert finding.where == f"ml-dev {DEV}/{REGION}"


@pytest.mark.parametrize("dependent", [False, True])
def test_an_ssm_parameter_of_the_same_stage_needs_a_stack_dependency(assemble, dependent):
    context = assemble(
        S("MlDevDevelopment", "Studio", template({"Domain": published("/acme/studio/domain-id")})),
        S(
            "MlDevDevelopment",
            "Users",
            template({"Topic": topic()}, Parameters={"Domain": ssm_type("/acme/studio/domain-id")}),
            depends_on=("Studio",) if dependent else (),
        ),
    )
    if dependent:
        assert found(context) == []
    else:
        finding = only(found(context), Rule.SSM_PARAMETER_TYPE)
        assert "MlDevDevelopment/Studio deploys in the same stage without a dependency" in finding.problem


def test_an_ssm_parameter_the_stack_itself_publishes_fails(assemble):
    context = assemble(
        S(
            "MlDevDevelopment",
            "Studio",
            template(
                {"Domain": published("/acme/studio/domain-id")}, Parameters={"D": ssm_type("/acme/studio/domain-id")}
            ),
        )
    )
    finding = only(found(context), Rule.SSM_PARAMETER_TYPE)
    assert "Domain is in the same stack, and CloudFormation reads it before it creates any resource" in finding.problem
    assert "must come from an earlier stack" in finding.fix


def test_the_bootstrap_version_and_powertools_parameters_exist_in_bootstrapped_regions(assemble):
    parameters = {
        "BootstrapVersion": ssm_type("/cdk-bootstrap/hnb659fds/version"),
        "Layer": ssm_type("/aws/service/powertools/python/x86_64/python3.14/3.37.0"),
    }
    context = assemble(S("MlDevDevelopment", "Studio", template({"Topic": topic()}, Parameters=parameters)))
    assert found(context) == []


def test_an_aws_public_parameter_the_proof_does_not_list_fails(assemble):
    parameters = {"Image": ssm_type("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")}
    context = assemble(S("MlDevDevelopment", "Studio", template({"Topic": topic()}, Parameters=parameters)))
    assert "AWS public parameter the proof does not list" in only(found(context), Rule.SSM_PARAMETER_TYPE).problem


@pytest.mark.parametrize(("name", "fails"), [("/acme/baseline/key-arn", False), ("/acme/baseline/missing", True)])
def test_a_dynamic_reference_needs_a_published_parameter(assemble, name, fails):
    context = assemble(
        S("MlDevBaseline", "Baseline", template({"Key": published("/acme/baseline/key-arn")})),
        S("MlDevDevelopment", "Studio", template({"Topic": topic(KmsMasterKeyId="{{resolve:ssm:" + name + "}}")})),
    )
    if fails:
        finding = only(found(context), Rule.DYNAMIC_REFERENCE)
        assert finding.subject == "MlDevDevelopment/Studio Topic/KmsMasterKeyId"
    else:
        assert found(context) == []


def test_a_dynamic_reference_inside_a_function_is_judged_too(assemble):
    joined = {"Fn::Join": ["", ["{{resolve:ssm:/acme/baseline/missing}}", "-topic"]]}
    context = assemble(S("MlDevDevelopment", "Studio", template({"Topic": topic(TopicName=joined)})))
    assert only(found(context), Rule.DYNAMIC_REFERENCE).subject == "MlDevDevelopment/Studio Topic/TopicName"


def _output_reader(output: str) -> dict[str, Any]:
    value = {"Fn::GetStackOutput": {"StackName": "acme-studio", "Region": REGION, "OutputName": output}}
    return template({"Topic": topic(KmsMasterKeyId=value)})


def test_a_stack_output_of_an_earlier_stack_passes(assemble):
    studio = template({"Key": {"Type": "AWS::KMS::Key"}}, Outputs={"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}})
    context = assemble(
        S("MlDevDevelopment", "Studio", studio),
        S("MlDevDevelopment", "Team", _output_reader("KeyArn"), depends_on=("Studio",)),
    )
    assert found(context) == []


@pytest.mark.parametrize(("output", "problem"), [("Missing", "does not output"), ("KeyArn", "without a dependency")])
def test_a_stack_output_that_is_missing_or_not_yet_there_fails(assemble, output, problem):
    studio = template({"Key": {"Type": "AWS::KMS::Key"}}, Outputs={"KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}})
    context = assemble(S("MlDevDevelopment", "Studio", studio), S("MlDevDevelopment", "Team", _output_reader(output)))
    assert problem in only(found(context), Rule.STACK_OUTPUT).problem


@pytest.mark.parametrize("through_a_role", [True, False])
def test_a_stack_output_of_another_account_is_read_through_its_role(assemble, through_a_role):
    bus = {"Type": "AWS::Events::EventBus", "Properties": {"Name": "acme-deployments"}}
    tooling = template({"Bus": bus, "Reader": role("acme-output-reader", {"AWS": PROD})})
    tooling["Outputs"] = {"BusArn": {"Value": {"Fn::GetAtt": ["Bus", "Arn"]}}}
    reading = {"StackName": "acme-tooling", "OutputName": "BusArn"}
    if through_a_role:
        reading["RoleArn"] = role_arn(SHARED, "acme-output-reader")
    reader = template({"Topic": topic(DisplayName={"Fn::GetStackOutput": reading})})
    context = assemble(S("SharedServicesTooling", "Tooling", tooling), S("MlProdEndpoints", "Endpoint", reader))
    if through_a_role:
        assert found(context) == []
    else:
        finding = only(found(context), Rule.STACK_OUTPUT)
        assert f"no stack acme-tooling of the assembly in ml-prod {PROD}/{REGION}" in finding.problem


@pytest.mark.parametrize(("export", "fails"), [("acme-vpc", False), ("acme-other", True)])
def test_an_import_needs_an_export_of_an_earlier_stack(assemble, export, fails):
    exporter = template({"Topic": topic()}, Outputs={"Vpc": {"Value": "vpc-1", "Export": {"Name": "acme-vpc"}}})
    importer = template({"Topic": topic(DisplayName={"Fn::ImportValue": export})})
    context = assemble(S("MlDevBaseline", "Baseline", exporter), S("MlDevDevelopment", "Studio", importer))
    if fails:
        assert "no stack of the assembly exports" in only(found(context), Rule.EXPORT).problem
    else:
        assert found(context) == []


# --- principals of trust and resource-based policies --------------------------------------------


def test_a_trust_policy_naming_a_role_of_an_earlier_wave_passes(assemble):
    context = assemble(
        S("SharedServicesTooling", "Tooling", template({"Deployer": role("acme-deployer")})),
        S(
            "MlProdEndpoints",
            "Endpoint",
            template({"Role": role(principal={"AWS": role_arn(SHARED, "acme-deployer")})}),
        ),
    )
    assert found(context) == []


def test_a_trust_policy_naming_a_role_no_stack_creates_fails(assemble):
    trust = role(principal={"AWS": [role_arn(SHARED, "acme-deployer")]})
    context = assemble(S("MlProdServing", "Serving", template({"Role": trust})))
    finding = only(found(context), Rule.PRINCIPAL)
    assert "Invalid principal" in finding.rule
    assert finding.subject == "MlProdServing/Serving Role/AssumeRolePolicyDocument.Statement.Principal"
    assert f"no stack of the assembly creates in shared-services {SHARED}/{REGION}" in finding.problem


def test_a_trust_policy_naming_a_role_of_a_stage_deployed_in_parallel_fails(assemble):
    context = assemble(
        S("SharedServicesTooling", "Tooling", template({"Deployer": role("acme-deployer")})),
        S("MlTestServing", "Serving", template({"Role": role(principal={"AWS": role_arn(SHARED, "acme-deployer")})})),
    )
    finding = only(found(context), Rule.PRINCIPAL)
    assert "SharedServicesTooling/Tooling deploys in the same wave (3) as MlTestServing/Serving, in parallel" in (
        finding.problem
    )


@pytest.mark.parametrize(
    ("principal", "depends_on", "fails"),
    [
        (role_arn(PROD, "acme-runner"), None, True),
        (role_arn(PROD, "acme-runner"), "Runner", False),
        ({"Fn::GetAtt": ["Runner", "Arn"]}, None, False),
    ],
)
def test_a_role_of_the_same_stack_must_be_created_first(assemble, principal, depends_on, fails):
    trusting = role(principal={"AWS": principal})
    if depends_on:
        trusting["DependsOn"] = depends_on
    context = assemble(S("MlProdServing", "Serving", template({"Runner": role("acme-runner"), "Trusting": trusting})))
    if fails:
        assert "no Ref, Fn::GetAtt or DependsOn orders them" in only(found(context), Rule.PRINCIPAL).problem
    else:
        assert found(context) == []


@pytest.mark.parametrize(("account", "fails"), [(SHARED, False), (OUTSIDER, True)])
def test_an_account_principal_must_be_of_the_organization(assemble, account, fails):
    key = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "kms:*", "Resource": "*"}]
            }
        },
    }
    context = assemble(S("MlProdServing", "Serving", template({"Key": key})))
    if fails:
        assert "is not an account of the organization" in only(found(context), Rule.PRINCIPAL).problem
    else:
        assert found(context) == []


# --- properties: checked when the resource is created -------------------------------------------


def _function(role: Any, **more: Any) -> dict[str, Any]:
    return {"Type": "AWS::Lambda::Function", "Properties": {"Role": role, "Code": {"ZipFile": "x"}, **more}}


def test_a_role_passed_to_a_service_must_exist_when_the_resource_is_created(assemble):
    earlier = assemble(
        S("MlDevBaseline", "Baseline", template({"Role": role("acme-runner")})),
        S("MlDevDevelopment", "Studio", template({"Function": _function(role_arn(DEV, "acme-runner"))})),
    )
    assert found(earlier) == []


def test_a_role_passed_to_a_service_that_no_stack_creates_fails(assemble):
    context = assemble(S("MlDevDevelopment", "Studio", template({"Function": _function(role_arn(DEV, "acme-runner"))})))
    finding = only(found(context), Rule.CREATED_BEFORE)
    assert finding.subject == "MlDevDevelopment/Studio Function/Role"


def test_a_log_bucket_named_by_name_must_exist(assemble):
    bucket = {
        "Type": "AWS::S3::Bucket",
        "Properties": {"LoggingConfiguration": {"DestinationBucketName": f"acme-access-logs-{DEV}-{REGION}"}},
    }
    context = assemble(S("MlDevDevelopment", "Studio", template({"Bucket": bucket})))
    finding = only(found(context), Rule.CREATED_BEFORE)
    assert f"bucket arn:aws:s3:::acme-access-logs-{DEV}-{REGION}" in finding.problem


@pytest.mark.parametrize(
    ("policy", "fails"),
    [
        ("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole", False),
        ("arn:aws:iam::aws:policy/AmazonS3FullAccess", True),
        (f"arn:aws:iam::{DEV}:policy/acme-permissions-boundary", False),
        (f"arn:aws:iam::{DEV}:policy/acme-other-boundary", True),
    ],
)
def test_managed_policies_are_aws_listed_the_bootstraps_or_created(assemble, policy, fails):
    runner = role(
        ManagedPolicyArns=[policy], PermissionsBoundary=f"arn:aws:iam::{DEV}:policy/acme-permissions-boundary"
    )
    context = assemble(S("MlDevDevelopment", "Studio", template({"Role": runner})))
    if fails:
        assert only(found(context), Rule.CREATED_BEFORE).subject == "MlDevDevelopment/Studio Role/ManagedPolicyArns"
    else:
        assert found(context) == []


def test_the_cdk_bootstrap_roles_exist_in_bootstrapped_regions_only(assemble):
    deploy_role = role_arn(PROD, f"cdk-hnb659fds-deploy-role-{PROD}-{REGION}")
    unbootstrapped = role_arn(PROD, f"cdk-hnb659fds-deploy-role-{PROD}-us-east-1")
    context = assemble(
        S("MlProdServing", "Serving", template({"Role": role(principal={"AWS": [deploy_role, unbootstrapped]})}))
    )
    assert unbootstrapped in only(found(context), Rule.PRINCIPAL).problem


# --- stored names: used when evaluated or run, from any stack -----------------------------------


def _reader(resource: str) -> dict[str, Any]:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resource}],
    }
    return {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": document}}


def test_a_policy_resource_naming_what_no_stack_creates_fails(assemble):
    context = assemble(S("MlDevDevelopment", "Studio", template({"Read": _reader("arn:aws:s3:::acme-nothing/*")})))
    finding = only(found(context), Rule.NAMES_NOTHING)
    assert "bucket arn:aws:s3:::acme-nothing" in finding.problem and "needed when it is used" in finding.problem


def test_a_policy_resource_may_name_what_a_later_wave_creates(assemble):
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "acme-captures"}}
    context = assemble(
        S("MlDevDevelopment", "Studio", template({"Read": _reader("arn:aws:s3:::acme-captures/*")})),
        S("MlProdEndpoints", "Endpoint", template({"Bucket": bucket})),
    )
    assert found(context) == []


@pytest.mark.parametrize(("stored", "fails"), [(True, False), (False, True)])
def test_a_function_may_name_in_its_environment_what_deploys_in_parallel(assemble, stored, fails):
    bus = f"arn:aws:events:{REGION}:{SHARED}:event-bus/acme-deployments"
    named = {"Environment": {"Variables": {"BUS": bus}}} if stored else {"DeadLetterConfig": {"TargetArn": bus}}
    context = assemble(
        S(
            "SharedServicesTooling",
            "Tooling",
            template({"Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "acme-deployments"}}}),
        ),
        S(
            "MlDevDevelopment",
            "Studio",
            template({"Function": _function({"Fn::GetAtt": ["Role", "Arn"]}, **named), "Role": role()}),
        ),
    )
    if fails:
        assert "in parallel" in only(found(context), Rule.CREATED_BEFORE).problem
    else:
        assert found(context) == []


# --- what the config supplies, what is given at deploy time -------------------------------------


@pytest.mark.parametrize(("pool", "fails"), [("eu-west-1_Ch7rnP00l", False), ("eu-west-1_Other", True)])
def test_a_config_supplied_resource_outside_the_organization_is_allowed_by_its_entry_only(
    assemble, example_config, pool, fails
):
    """The config may name a user pool of another account; only that pool is allowed there."""
    outside = f"arn:aws:cognito-idp:eu-west-1:{OUTSIDER}:userpool/eu-west-1_Ch7rnP00l"
    endpoints = tuple(
        endpoint.model_copy(update={"api": endpoint.api.model_copy(update={"cognito_user_pool_arn": outside})})
        if endpoint.api is not None and endpoint.api.cognito_user_pool_arn
        else endpoint
        for endpoint in example_config.endpoints
    )
    authorizer = {
        "Type": "AWS::ApiGateway::Authorizer",
        "Properties": {"ProviderARNs": [f"arn:aws:cognito-idp:eu-west-1:{OUTSIDER}:userpool/{pool}"]},
    }
    context = assemble(
        S("MlProdServing", "Apis", template({"Authorizer": authorizer})),
        config=example_config.model_copy(update={"endpoints": endpoints}),
    )
    if fails:
        assert f"account {OUTSIDER}" in only(found(context), Rule.ACCOUNT).problem
    else:
        judged = references.judge(context)
        assert judged.findings == [] and "endpoints[].api.cognito_user_pool_arn" in judged.used


def test_an_arn_in_an_account_outside_the_organization_fails(assemble):
    authorizer = {
        "Type": "AWS::ApiGateway::Authorizer",
        "Properties": {"ProviderARNs": [f"arn:aws:cognito-idp:eu-west-1:{OUTSIDER}:userpool/eu-west-1_Pool"]},
    }
    context = assemble(S("MlProdServing", "Apis", template({"Authorizer": authorizer})))
    assert f"account {OUTSIDER}" in only(found(context), Rule.ACCOUNT).problem


def test_a_parameter_given_at_deploy_time_is_undecided_by_name(assemble):
    model = {
        "Type": "AWS::SageMaker::Model",
        "Properties": {"PrimaryContainer": {"ModelPackageName": {"Ref": "ModelPackageArn"}}},
    }
    context = assemble(
        S("MlProdEndpoints", "Endpoint", template({"Model": model}, Parameters={"ModelPackageArn": {"Type": "String"}}))
    )
    finding = only(found(context), Rule.UNDECIDED, Verdict.UNDECIDED)
    assert finding.subject == "MlProdEndpoints/Endpoint Model/PrimaryContainer.ModelPackageName"
    assert "parameter ModelPackageArn, given at deploy time" in finding.problem


def test_a_stack_of_a_stage_without_a_wave_is_undecided(assemble):
    """Said once for the stack, not as a failure of each reference to or from it."""
    context = assemble(
        S("MlDevExperiments", "Lab", template({"Key": published("/acme/lab/key")}), account=DEV),
        S("MlDevDevelopment", "Studio", template({"Topic": topic()}, Parameters={"Key": ssm_type("/acme/lab/key")})),
    )
    finding = only(found(context), Rule.CREATED_BEFORE, Verdict.UNDECIDED)
    assert finding.subject == "MlDevExperiments/Lab"
    assert "its stage MlDevExperiments is in no wave" in finding.problem


# --- Service Catalog and StackSets --------------------------------------------------------------


def _catalog(*, hub_role: bool, by_ref: bool = True, share_with: str = DATA, product: str = "feature-group") -> S:
    name = f"acme-catalog-launch-{product}"
    resources: dict[str, Any] = {
        "Portfolio": {
            "Type": "AWS::ServiceCatalog::Portfolio",
            "Properties": {"DisplayName": "p", "ProviderName": "p"},
        },
        "Product": {
            "Type": "AWS::ServiceCatalog::CloudFormationProduct",
            "Properties": {
                "Name": product,
                "Owner": "p",
                "ProvisioningArtifactParameters": [
                    {"Info": {"LoadTemplateFromURL": f"https://s3.{REGION}.amazonaws.com/cdk-assets/abc123.json"}}
                ],
            },
        },
        "Constraint": {
            "Type": "AWS::ServiceCatalog::LaunchRoleConstraint",
            "Properties": {
                "PortfolioId": {"Ref": "Portfolio"},
                "ProductId": {"Ref": "Product"},
                "LocalRoleName": {"Ref": "LaunchRole"} if hub_role and by_ref else name,
            },
        },
        "Share": {
            "Type": "AWS::ServiceCatalog::PortfolioShare",
            "Properties": {"PortfolioId": {"Ref": "Portfolio"}, "AccountId": share_with},
        },
    }
    if hub_role:
        resources["LaunchRole"] = role(name, {"Service": "servicecatalog.amazonaws.com"})
    product_template = template(
        {"Group": {"Type": "AWS::SageMaker::FeatureGroup", "Properties": {}}},
        Parameters={"Key": ssm_type("/acme/feature-store/key-arn")},
        Metadata={"PlatformProduct": f"acme/{product}"},
    )
    return S("ManagementCatalog", "Catalog", template(resources), assets={"abc123": product_template})


def _data(*, launch_role: bool = True, key: bool = True) -> S:
    resources: dict[str, Any] = {"Topic": topic()}
    if launch_role:
        resources["Launch"] = role("acme-catalog-launch-feature-group", {"Service": "servicecatalog.amazonaws.com"})
    if key:
        resources["Key"] = published("/acme/feature-store/key-arn")
    return S("DataData", "SelfService", template(resources))


def test_a_launch_role_the_hub_does_not_hold_fails_the_catalog_deploy(assemble):
    """Regression: the catalog named roles that existed only in the ml-dev and data accounts."""
    context = assemble(_catalog(hub_role=False), _data())
    finding = only(found(context), Rule.LAUNCH_ROLE)
    assert finding.where == f"management {MANAGEMENT}/{REGION}"
    assert f"role arn:aws:iam::{MANAGEMENT}:role/acme-catalog-launch-feature-group" in finding.problem
    assert "must exist in the account used to create the launch constraint" in finding.rule


def test_a_hub_launch_role_must_be_created_before_the_constraint(assemble):
    context = assemble(_catalog(hub_role=True, by_ref=False), _data())
    assert "no Ref, Fn::GetAtt or DependsOn orders them" in only(found(context), Rule.LAUNCH_ROLE).problem


def test_a_launch_role_in_the_hub_and_where_the_product_launches_passes(assemble):
    assert found(assemble(_catalog(hub_role=True), _data())) == []


def test_a_product_needs_its_launch_role_and_parameters_where_it_launches(assemble):
    findings = found(assemble(_catalog(hub_role=True), _data(launch_role=False, key=False)))
    assert {finding.rule for finding in findings} == {str(Rule.LAUNCH_ROLE), str(Rule.SSM_PARAMETER_TYPE)}
    assert {finding.where for finding in findings} == {f"data {DATA}/{REGION}"}
    assert all("product launch" in finding.problem for finding in findings)


def test_a_product_listed_where_it_does_not_launch_is_left_out_by_its_scope(assemble):
    context = assemble(_catalog(hub_role=True, share_with=DEV), _data())
    judged = references.judge(context)
    assert judged.findings == []
    assert "feature-group" in judged.used


def _organization(*units: tuple[str, str, str | None]) -> S:
    """The organization stack: OUs (logical id, name, parent's logical id or the root), an SCP
    (what marks the stack), and the id of the first OU published for the catalog."""
    resources: dict[str, Any] = {
        "Guardrail": {"Type": "AWS::Organizations::Policy", "Properties": {"Type": "SERVICE_CONTROL_POLICY"}}
    }
    for logical_id, name, parent in units:
        resources[logical_id] = {
            "Type": "AWS::Organizations::OrganizationalUnit",
            "Properties": {"Name": name, "ParentId": {"Ref": parent} if parent else "r-a1b2"},
        }
    resources["Published"] = published("/acme/organization/ou/shared", {"Ref": units[0][0]})
    return S("ManagementOrganization", "Organization", template(resources))


def test_an_ou_share_reaches_the_accounts_of_the_ou_and_its_children(assemble):
    catalog = _catalog(hub_role=True, product="custom")
    del catalog.template["Resources"]["Share"]
    catalog.template["Resources"]["OrganizationShare"] = {
        "Type": "Custom::PortfolioOrganizationShare",
        "Properties": {"PortfolioId": {"Ref": "Portfolio"}, "OrganizationalUnitIds": [{"Ref": "Units"}]},
    }
    catalog.template["Parameters"] = {"Units": ssm_type("/acme/organization/ou/shared")}
    units = [("Workloads", "Workloads", None), *((f"Ml{n}", f"ML-{n}", "Workloads") for n in ("Dev", "Test", "Prod"))]
    findings = found(assemble(_organization(*units), catalog))
    # The data account is in Workloads itself (its role's default OU), the others in its children.
    reached = {("data", DATA), ("ml-dev", DEV), ("ml-test", TEST), ("ml-prod", PROD)}
    assert {f.where for f in findings} == {f"{name} {account}/{REGION}" for name, account in reached}
    # Each misses the launch role and the parameter the product's template reads.
    assert {f.rule for f in findings} == {str(Rule.LAUNCH_ROLE), str(Rule.SSM_PARAMETER_TYPE)}
    assert len(findings) == 2 * len(reached)


def test_a_share_with_an_ou_no_stack_creates_is_undecided(assemble):
    catalog = _catalog(hub_role=True)
    catalog.template["Resources"]["OrganizationShare"] = {
        "Type": "Custom::PortfolioOrganizationShare",
        "Properties": {"PortfolioId": {"Ref": "Portfolio"}, "OrganizationalUnitIds": ["ou-a1b2-outside1"]},
    }
    finding = only(found(assemble(catalog, _data())), Rule.LAUNCH_ROLE, Verdict.UNDECIDED)
    assert "shared with OU ou-a1b2-outside1, which no stack of the assembly creates" in finding.problem


@pytest.mark.parametrize(("account", "fails"), [({"Ref": "AWS::AccountId"}, False), (MANAGEMENT, True)])
def test_a_stackset_template_must_not_name_the_hub_account(assemble, account, fails):
    key = {
        "Type": "AWS::KMS::Key",
        "Properties": {
            "KeyPolicy": {"Statement": [{"Effect": "Allow", "Principal": {"AWS": account}, "Action": "kms:*"}]}
        },
    }
    organization = S(
        "ManagementOrganization",
        "Organization",
        template({"Topic": topic()}),
        assets={"StackSet1": template({"Key": key})},
    )
    findings = found(assemble(organization))
    if fails:
        finding = only(findings, Rule.HUB_ACCOUNT)
        assert "StackSet template" in finding.subject
        assert "names the hub account 111111111111 (management)" in finding.problem
        assert "Resources/Key/Properties/KeyPolicy/Statement/0/Principal/AWS" in finding.problem
    else:
        assert findings == []


# --- the example organization -------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(org):
    context = ProofContext.read(org.directory, org.config)
    return context, references.judge(context)


def test_the_example_organization_passes_with_nothing_undecided(example):
    """Every name resolves offline: even the package an endpoint or batch job is deployed with,
    whose parameter admits only its model's packages in its registry account."""
    _, judged = example
    assert judged.findings == [], "\n".join(f.render() for f in judged.findings)


def test_the_hub_creates_the_launch_roles_its_constraints_name(org, example):
    """Regression: Service Catalog refused the catalog's launch constraints, whose roles
    existed only in the ml-dev and data accounts."""
    _, judged = example
    assert not [f for f in judged.findings if f.subject.startswith("ManagementCatalog/")]
    resources = org.templates["ManagementCatalog/Catalog"]["Resources"]
    roles = {logical_id: r["Properties"] for logical_id, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
    constraints = [
        r["Properties"] for r in resources.values() if r["Type"] == "AWS::ServiceCatalog::LaunchRoleConstraint"
    ]
    assert len(constraints) == 4
    for constraint in constraints:
        hub_role = roles[constraint["LocalRoleName"]["Ref"]]
        assert hub_role["RoleName"].startswith("acme-catalog-launch-")
        assert "ManagedPolicyArns" not in hub_role and "Policies" not in hub_role, "nothing launches in the hub"
        assert "acme-permissions-boundary" in json.dumps(hub_role["PermissionsBoundary"])
        (statement,) = hub_role["AssumeRolePolicyDocument"]["Statement"]
        assert statement["Principal"] == {"Service": "servicecatalog.amazonaws.com"}
    attached = [r for r in resources.values() if r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy")]
    assert not [p for p in attached if any(ref in json.dumps(p) for ref in roles)], "no policy is attached to them"


def test_product_and_stackset_templates_name_no_hub_account(example):
    context, _ = example
    published = {path.name.split(".")[-3] for stack in context.assembly.stacks for path in stack.asset_templates}
    assert published >= {"product", "stackset"}
    assert [finding for stack in context.assembly.stacks for finding in hub_account_findings(context, stack)] == []


def test_every_reviewed_entry_is_used_by_the_example(example):
    _, judged = example
    reviewed = {
        *(entry.name for entry in AWS_OWNED),
        *(entry.field for entry in CONFIG_SUPPLIED),
        *(f"{entry.resource_type} {entry.path}" for entry in STORED),
        *(", ".join(scope.products) for scope in LAUNCH_SCOPES),
    }
    assert reviewed - judged.used == set()
    reasons = [entry.reason for entries in (AWS_OWNED, CONFIG_SUPPLIED, STORED, LAUNCH_SCOPES) for entry in entries]
    assert all(reasons)


def test_the_listed_aws_managed_policies_are_awss_and_attached_by_the_example(org):
    managed = json.loads(aws_managed_policies_data)
    for name in AWS_MANAGED_POLICIES:
        path, _, policy = name.rpartition("/")
        assert managed[policy]["Path"] == f"/{path}/".replace("//", "/"), name
    text = "".join(json.dumps(template) for template in org.templates.values())
    assert [name for name in AWS_MANAGED_POLICIES if f":iam::aws:policy/{name}" not in text] == []


def test_the_proof_is_in_the_preflight():
    assert PROOFS[references.PROOF] is references.prove
