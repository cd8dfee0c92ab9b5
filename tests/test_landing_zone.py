"""The landing zone of the example organization: management, log-archive and shared-services."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.guardrails import guardrail_documents

TRAIL_ARN = "arn:aws:cloudtrail:eu-west-1:111111111111:trail/acme-organization-trail"
ARCHIVE_BUCKET = "acme-organization-trail-222222222222-eu-west-1"


@pytest.fixture(scope="module")
def organization(org) -> Any:
    return org.template("ManagementOrganization", "Organization")


@pytest.fixture(scope="module")
def archive(org) -> Any:
    return org.template("LogArchiveArchive", "Archive")


def _ou_logical_ids(template) -> dict[str, str]:
    """OU name -> logical id."""
    units = template.find_resources("AWS::Organizations::OrganizationalUnit")
    return {unit["Properties"]["Name"]: logical_id for logical_id, unit in units.items()}


def test_role_stages_deploy_to_their_accounts(org):
    assert org.stages["ManagementOrganization"].account == "111111111111"
    assert org.stages["LogArchiveArchive"].account == "222222222222"
    assert org.stages["SharedServicesTooling"].account == "333333333333"
    for stage_id in ("ManagementOrganization", "ManagementTrail", "LogArchiveArchive", "SharedServicesTooling"):
        stacks = org.stages[stage_id].node.children
        assert stacks and all(stack.termination_protection is True for stack in stacks)


def test_organizational_units_form_the_configured_tree(organization):
    ids = _ou_logical_ids(organization)
    assert set(ids) == {"Security", "Infrastructure", "Workloads", "ML-Dev", "ML-Test", "ML-Prod", "Sandbox"}
    units = organization.find_resources("AWS::Organizations::OrganizationalUnit")
    parent = {unit["Properties"]["Name"]: unit["Properties"]["ParentId"] for unit in units.values()}
    for top in ("Security", "Infrastructure", "Workloads", "Sandbox"):
        assert parent[top] == "r-a1b2"
    for nested in ("ML-Dev", "ML-Test", "ML-Prod"):
        assert parent[nested] == {"Fn::GetAtt": [ids["Workloads"], "Id"]}


def test_guardrails_are_attached_to_the_ous_that_ask_for_them(org, organization):
    ids = _ou_logical_ids(organization)
    policies = organization.find_resources("AWS::Organizations::Policy")
    by_name = {policy["Properties"]["Name"]: policy["Properties"] for policy in policies.values()}
    assert set(by_name) == {
        "acme-protect-baseline",
        "acme-deny-other-regions",
        "acme-ml-workloads",
        "acme-ml-production",
    }

    def targets(name: str) -> set[str]:
        return {target["Fn::GetAtt"][0] for target in by_name[name]["TargetIds"]}

    assert targets("acme-protect-baseline") == {ids[n] for n in ("Security", "Infrastructure", "Workloads", "Sandbox")}
    assert targets("acme-deny-other-regions") == {ids[n] for n in ("Security", "Infrastructure", "Workloads")}
    assert targets("acme-ml-workloads") == {ids["Workloads"]}
    assert targets("acme-ml-production") == {ids["ML-Prod"]}
    documents = guardrail_documents(org.config)
    for guardrail, document in documents.items():
        properties = by_name[f"acme-{guardrail}"]
        assert properties["Type"] == "SERVICE_CONTROL_POLICY"
        assert properties["Content"] == document


def test_member_accounts_are_created_in_their_ous_and_never_deleted(organization):
    ids = _ou_logical_ids(organization)
    accounts = organization.find_resources("AWS::Organizations::Account")
    placed = {
        account["Properties"]["AccountName"]: account["Properties"]["ParentIds"][0]["Fn::GetAtt"][0]
        for account in accounts.values()
    }
    assert placed == {
        "acme-log-archive": ids["Security"],
        "acme-shared-services": ids["Infrastructure"],
        "acme-data": ids["Workloads"],
        "acme-ml-dev": ids["ML-Dev"],
        "acme-ml-test": ids["ML-Test"],
        "acme-ml-prod": ids["ML-Prod"],
    }
    for account in accounts.values():
        assert account["DeletionPolicy"] == "Retain"
        assert account["UpdateReplacePolicy"] == "Retain"
        name = account["Properties"]["AccountName"].removeprefix("acme-")
        assert {"Key": "platform:account", "Value": name} in account["Properties"]["Tags"]


def test_organization_trail_is_multi_region_validated_and_encrypted_in_the_archive(org):
    trail = org.template("ManagementTrail", "Trail")
    assert org.stages["ManagementTrail"].account == "111111111111"
    trail.has_resource_properties(
        "AWS::CloudTrail::Trail",
        {
            "TrailName": "acme-organization-trail",
            "IsOrganizationTrail": True,
            "IsMultiRegionTrail": True,
            "IncludeGlobalServiceEvents": True,
            "EnableLogFileValidation": True,
            "IsLogging": True,
            "KMSKeyId": "arn:aws:kms:eu-west-1:222222222222:alias/acme/organization-trail",
            "S3BucketName": ARCHIVE_BUCKET,
            "CloudWatchLogsLogGroupArn": {
                "Fn::GetAtt": [Match.string_like_regexp("^OrganizationTrailLogGroup"), "Arn"]
            },
        },
    )
    trail.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365, "KmsKeyId": Match.any_value()})


def test_archive_bucket_is_object_locked_tiered_and_encrypted(archive):
    (key_id,) = archive.find_resources("AWS::KMS::Key")
    archive.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketName": ARCHIVE_BUCKET,
                "ObjectLockEnabled": True,
                "ObjectLockConfiguration": {
                    "ObjectLockEnabled": "Enabled",
                    "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 365}},
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [key_id, "Arn"]},
                            },
                        }
                    ]
                },
                "LoggingConfiguration": {"DestinationBucketName": "acme-access-logs-222222222222-eu-west-1"},
                "LifecycleConfiguration": {
                    "Rules": [
                        Match.object_like(
                            {
                                "Transitions": [{"StorageClass": "GLACIER", "TransitionInDays": 90}],
                                "ExpirationInDays": 2557,
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 365},
                            }
                        )
                    ]
                },
            },
        },
    )
    archive.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/acme/organization-trail"})


def _statements(template, resource_type: str, document_key: str) -> dict[str, dict[str, Any]]:
    (resource,) = template.find_resources(resource_type).values()
    return {s["Sid"]: s for s in resource["Properties"][document_key]["Statement"] if "Sid" in s}


def test_archive_admits_only_the_organization_trail_under_its_paths(archive):
    statements = _statements(archive, "AWS::S3::BucketPolicy", "PolicyDocument")
    write = statements["CloudTrailWritesOrganizationPathsOnly"]
    assert write["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert write["Action"] == "s3:PutObject"
    paths = [resource["Fn::Join"][1][-1] for resource in write["Resource"]]
    assert paths == ["/AWSLogs/111111111111/*", "/AWSLogs/o-a1b2c3d4e5/*"]
    assert write["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN, "s3:x-amz-acl": "bucket-owner-full-control"}
    }
    assert statements["CloudTrailAclCheck"]["Condition"] == {"StringEquals": {"aws:SourceArn": TRAIL_ARN}}
    (policy,) = archive.find_resources("AWS::S3::BucketPolicy").values()
    denies = [s["Condition"] for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in denies


def test_archive_key_lets_only_the_organization_trail_encrypt(archive):
    statement = _statements(archive, "AWS::KMS::Key", "KeyPolicy")["AllowOrganizationTrailToEncrypt"]
    assert statement["Principal"] == {"Service": "cloudtrail.amazonaws.com"}
    assert statement["Action"] == ["kms:DescribeKey", "kms:GenerateDataKey*"]
    assert statement["Condition"] == {
        "StringEquals": {"aws:SourceArn": TRAIL_ARN},
        "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111111111111:trail/*"},
    }


def _account_ids(org, organization) -> dict[str, str]:
    """The config's id of each account the organization stack creates, by its logical id."""
    by_email = {account.email: account.id for account in org.config.accounts.values()}
    return {
        logical_id: by_email[account["Properties"]["Email"]]
        for logical_id, account in organization.find_resources("AWS::Organizations::Account").items()
    }


def _account_named(value: Any, created: dict[str, str]) -> str:
    """A literal account id, or the id attribute of an account the stack creates."""
    if isinstance(value, str):
        return value
    logical_id, attribute = value["Fn::GetAtt"]
    assert attribute == "AccountId"
    return created[logical_id]


def test_budgets_per_account_and_team_alert_on_actual_and_forecast(org, organization):
    budgets = {
        b["Properties"]["Budget"]["BudgetName"]: b["Properties"]
        for b in organization.find_resources("AWS::Budgets::Budget").values()
    }
    expected_accounts = {n: a for n, a in org.config.accounts.items() if a.monthly_budget_usd}
    assert set(budgets) == {f"acme-account-{n}" for n in expected_accounts} | {"acme-team-fraud", "acme-team-churn"}
    ml_prod = budgets["acme-account-ml-prod"]
    assert ml_prod["Budget"]["BudgetLimit"] == {"Amount": 8000, "Unit": "USD"}
    # The account the stack creates, by its id attribute: the budget waits for it.
    (linked,) = ml_prod["Budget"]["CostFilters"]["LinkedAccount"]
    assert _account_named(linked, _account_ids(org, organization)) == "777777777777" and not isinstance(linked, str)
    assert budgets["acme-team-fraud"]["Budget"]["CostFilters"] == {"TagKeyValue": ["user:platform:team$fraud"]}
    alerts = {
        (n["Notification"]["NotificationType"], n["Notification"]["Threshold"])
        for n in ml_prod["NotificationsWithSubscribers"]
    }
    assert alerts == {("ACTUAL", 80), ("ACTUAL", 100), ("FORECASTED", 80), ("FORECASTED", 100)}
    subscribers = ml_prod["NotificationsWithSubscribers"][0]["Subscribers"]
    assert [s["SubscriptionType"] for s in subscribers] == ["SNS", "EMAIL"]
    assert subscribers[1]["Address"] == "platform-team@example.com"
    organization.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": Match.any_value()})
    topic_policy = _statements(organization, "AWS::SNS::TopicPolicy", "PolicyDocument")["AllowBudgetsOfThisAccount"]
    assert topic_policy["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert topic_policy["Condition"] == {"StringEquals": {"aws:SourceAccount": "111111111111"}}


def test_identity_center_personas_are_assigned_where_they_work(org, organization):
    permission_sets = organization.find_resources("AWS::SSO::PermissionSet")
    by_name = {p["Properties"]["Name"]: (logical_id, p["Properties"]) for logical_id, p in permission_sets.items()}
    assert set(by_name) == {"platform-admin", "data-scientist", "ml-engineer", "auditor"}
    admin_policies = [p["Properties"].get("ManagedPolicies", []) for p in permission_sets.values()]
    assert sum("arn:aws:iam::aws:policy/AdministratorAccess" in policies for policies in admin_policies) == 1
    statements = {s["Sid"]: s for s in by_name["data-scientist"][1]["InlinePolicy"]["Statement"]}
    assert "ManagedPolicies" not in by_name["data-scientist"][1]
    assert set(statements) == {"ReadSageMaker", "OpenOwnStudioProfile"}
    scientist = statements["OpenOwnStudioProfile"]
    assert scientist["Action"] == "sagemaker:CreatePresignedDomainUrl"
    assert scientist["Condition"] == {
        "StringEquals": {"sagemaker:ResourceTag/platform:user": "${aws:PrincipalTag/platform:user}"}
    }
    assignments = organization.find_resources("AWS::SSO::Assignment").values()
    created = _account_ids(org, organization)
    where: dict[str, set[str]] = {}
    for assignment in assignments:
        persona = next(
            n for n, (lid, _) in by_name.items() if assignment["Properties"]["PermissionSetArn"]["Fn::GetAtt"][0] == lid
        )
        target = assignment["Properties"]["TargetId"]
        # An account the stack creates is assigned by its id attribute, so after it is created.
        assert isinstance(target, str) == (target == "111111111111")
        where.setdefault(persona, set()).add(_account_named(target, created))
        assert assignment["Properties"]["PrincipalType"] == "GROUP"
    every = {f"{d}" * 12 for d in range(1, 8)}
    assert where == {
        "platform-admin": every,
        "auditor": every,
        "data-scientist": {"555555555555"},
        "ml-engineer": {"555555555555", "666666666666", "777777777777"},
    }


def test_package_mirror_is_readable_by_the_organization_only(org):
    tooling = org.template("SharedServicesTooling", "Tooling")
    (key_id,) = tooling.find_resources("AWS::KMS::Key", {"Properties": {"Description": "CodeArtifact packages"}})
    (domain,) = tooling.find_resources("AWS::CodeArtifact::Domain").values()
    assert domain["Properties"]["DomainName"] == "acme"
    assert domain["Properties"]["EncryptionKey"] == {"Fn::GetAtt": [key_id, "Arn"]}
    authenticate = domain["Properties"]["PermissionsPolicyDocument"]["Statement"][0]
    assert authenticate["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    repositories = {
        r["Properties"]["RepositoryName"]: (logical_id, r["Properties"])
        for logical_id, r in tooling.find_resources("AWS::CodeArtifact::Repository").items()
    }
    store_id, store = repositories["pypi-store"]
    _, pypi = repositories["pypi"]
    assert store["ExternalConnections"] == ["public:pypi"]
    assert pypi["Upstreams"] == [{"Fn::GetAtt": [store_id, "Name"]}]
    (read,) = pypi["PermissionsPolicyDocument"]["Statement"]
    assert read["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}
    assert "codeartifact:ReadFromRepository" in read["Action"]
    writes = ("codeartifact:Publish", "codeartifact:Delete", "codeartifact:Put", "codeartifact:Update")
    assert [action for action in read["Action"] if action.startswith(writes) or "*" in action] == []


@pytest.fixture(scope="module")
def stackset_template(org) -> dict[str, Any]:
    (path,) = org.directory.glob("assembly-ManagementOrganization/*.stackset.template.json")
    template: dict[str, Any] = json.loads(path.read_text())
    return template


def test_baseline_stackset_deploys_to_the_target_ous_automatically(organization):
    ids = _ou_logical_ids(organization)
    organization.has_resource_properties(
        "AWS::CloudFormation::StackSet",
        {
            "StackSetName": "acme-baseline",
            "PermissionModel": "SERVICE_MANAGED",
            "CallAs": "SELF",
            "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": True},
            "Capabilities": ["CAPABILITY_NAMED_IAM"],
            "ManagedExecution": {"Active": True},
            "StackInstancesGroup": [
                {
                    "DeploymentTargets": Match.object_like(
                        {"OrganizationalUnitIds": [{"Fn::GetAtt": [ids["Sandbox"], "Id"]}]}
                    ),
                    "Regions": ["eu-west-1"],
                }
            ],
        },
    )


def test_stackset_template_is_the_account_baseline_with_the_same_identities(org, stackset_template):
    resources = stackset_template["Resources"]
    per_account = org.templates["MlDevBaseline/Baseline"]["Resources"]
    stateful = ("StorageKeyB6649B55", "LogsKeyA6AB43B2", "AccessLogs8B620ECA", "NetworkVpc7FB7348F")
    for logical_id in stateful:
        assert resources[logical_id]["Type"] == per_account[logical_id]["Type"]
    assert resources["AccessLogs8B620ECA"]["Properties"]["BucketName"] == {
        "Fn::Join": ["", ["acme-access-logs-", {"Ref": "AWS::AccountId"}, "-", {"Ref": "AWS::Region"}]]
    }
    assert resources["NetworkVpc7FB7348F"]["Properties"]["CidrBlock"] == "10.200.0.0/16"
    # No Lambda and no asset: a StackSet template must stand alone.
    assert not [r for r in resources.values() if r["Type"] in ("AWS::Lambda::Function", "Custom::VpcRestrictDefaultSG")]


def test_stackset_accounts_close_the_default_security_group_by_config_remediation(stackset_template):
    resources = stackset_template["Resources"].values()
    (rule,) = [r["Properties"] for r in resources if r["Type"] == "AWS::Config::ConfigRule"]
    assert rule["Source"] == {"Owner": "AWS", "SourceIdentifier": "VPC_DEFAULT_SECURITY_GROUP_CLOSED"}
    assert rule["Scope"]["ComplianceResourceId"] == {"Fn::GetAtt": ["NetworkVpc7FB7348F", "DefaultSecurityGroup"]}
    (remediation,) = [r["Properties"] for r in resources if r["Type"] == "AWS::Config::RemediationConfiguration"]
    assert remediation["TargetId"] == "AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules"
    assert remediation["Automatic"] is True
    assert remediation["Parameters"]["GroupId"] == {"ResourceValue": {"Value": "RESOURCE_ID"}}
