"""The local rehearsal (`make rehearse`): the template changes it makes for the emulator, the
emulator's lifecycle and accounts, and one whole rehearsal of the example org: a model's
approval in ml-dev crossing to shared-services' deployment pipeline, and its production drift
alarm crossing from ml-prod back to ml-dev."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from proofs.findings import Finding, Verdict
from tests.conftest import EXAMPLE_CONFIG, ROOT, SynthesizedOrg
from tools.emulator import (
    LOOPBACK,
    STAND_IN_OUTPUT,
    UNRESOLVED,
    AccountSessions,
    adapt_template,
    moto_server,
    seeded_parameters,
)
from tools.rehearsal_flows import (
    DeployedFunction,
    Execution,
    eventbridge_event,
    forwarding_rule,
    preflight_verdicts,
    production_action,
    raise_alarm,
    rule_matching,
)
from tools.rehearsal_report import RehearsalError, Report
from tools.rehearse import check_parameters, main, pipeline_declaration


def no_outputs(stack: str, output: str) -> str:
    raise AssertionError(f"unexpected read of {stack}.{output}")


def template(**resources: dict[str, Any]) -> dict[str, Any]:
    return {"Resources": resources}


def test_custom_resources_are_left_out_with_the_dependencies_on_them() -> None:
    adapted, changes = adapt_template(
        "s",
        template(
            Teardown={"Type": "Custom::StudioTeardown", "Properties": {"ServiceToken": "arn"}},
            Topic={"Type": "AWS::SNS::Topic", "Properties": {}, "DependsOn": ["Teardown"]},
        ),
        no_outputs,
    )
    assert set(adapted["Resources"]) == {"Topic"}
    assert adapted["Resources"]["Topic"]["DependsOn"] == []
    assert [(c.logical_id, c.reason) for c in changes] == [("Teardown", "moto runs custom resources in Docker")]


def test_stack_outputs_are_resolved_from_the_emulator() -> None:
    reads: list[tuple[str, str]] = []

    def output_of(stack: str, output: str) -> str:
        reads.append((stack, output))
        return "arn:aws:kms:eu-west-1:555555555555:key/k"

    reference = {"Fn::GetStackOutput": {"StackName": "acme-model-registry", "Region": "eu-west-1", "OutputName": "Key"}}
    adapted, changes = adapt_template(
        "s", template(Queue={"Type": "AWS::SQS::Queue", "Properties": {"KmsMasterKeyId": reference}}), output_of
    )
    assert adapted["Resources"]["Queue"]["Properties"]["KmsMasterKeyId"] == "arn:aws:kms:eu-west-1:555555555555:key/k"
    assert reads == [("acme-model-registry", "Key")]
    assert [c.change for c in changes] == ["Fn::GetStackOutput resolved"]


def test_a_single_region_global_table_becomes_a_table_with_the_replicas_settings() -> None:
    key = {"Fn::GetAtt": ["Key", "Arn"]}
    adapted, _ = adapt_template(
        "s",
        template(
            Key={"Type": "AWS::KMS::Key", "Properties": {}},
            Table={
                "Type": "AWS::DynamoDB::GlobalTable",
                "Properties": {
                    "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
                    "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS"},
                    "Replicas": [
                        {
                            "Region": "eu-west-1",
                            "SSESpecification": {"KMSMasterKeyId": key},
                            "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                        }
                    ],
                },
            },
        ),
        no_outputs,
    )
    table = adapted["Resources"]["Table"]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert "Replicas" not in table["Properties"]


def test_readers_of_skipped_resources_are_left_out_in_turn_and_reported() -> None:
    adapted, changes = adapt_template(
        "s",
        {
            "Resources": {
                "Domain": {"Type": "AWS::SageMaker::Domain", "Properties": {}},
                "Policy": {
                    "Type": "AWS::IAM::ManagedPolicy",
                    "Properties": {"PolicyDocument": {"Resource": {"Fn::GetAtt": ["Domain", "DomainArn"]}}},
                },
                "Role": {"Type": "AWS::IAM::Role", "Properties": {"ManagedPolicyArns": [{"Ref": "Policy"}]}},
                "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
            },
            "Outputs": {
                "DomainId": {"Value": {"Fn::GetAtt": ["Domain", "DomainId"]}},
                "Topic": {"Value": {"Ref": "Topic"}},
            },
        },
        no_outputs,
    )
    assert set(adapted["Resources"]) == {"Domain", "Topic"}
    assert set(adapted["Outputs"]) == {"Topic"}
    assert {(c.logical_id, c.reason) for c in changes} == {
        ("Policy", "it reads Domain, which the emulator cannot create"),
        ("Role", "it reads Policy, which the emulator cannot create"),
    }


def test_stand_ins_get_their_properties_resolved_as_outputs() -> None:
    group = {"ModelPackageGroupName": "acme-fraud-detector", "Tags": [{"Key": "k", "Value": "v"}]}
    adapted, _ = adapt_template(
        "s", template(Group={"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": group}), no_outputs
    )
    assert adapted["Outputs"][f"{STAND_IN_OUTPUT}Group"]["Value"] == {
        "Fn::ToJsonString": {"Type": "AWS::SageMaker::ModelPackageGroup", "Properties": group}
    }


def test_misread_tags_are_left_out_and_public_parameters_are_read_from_seeds() -> None:
    public = "/aws/service/powertools/python/x86_64/python3.14/3.37.0"
    adapted, changes = adapt_template(
        "s",
        {
            "Parameters": {"Layer": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": public}},
            "Resources": {
                "Key": {"Type": "AWS::KMS::Key", "Properties": {"Tags": [{"Key": "k", "Value": "v"}]}},
                "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"Tags": [{"Key": "k", "Value": "v"}]}},
            },
        },
        no_outputs,
    )
    assert "Tags" not in adapted["Resources"]["Key"]["Properties"]
    assert adapted["Resources"]["Bucket"]["Properties"]["Tags"] == [{"Key": "k", "Value": "v"}]
    assert adapted["Parameters"]["Layer"]["Default"] == f"/rehearsal{public}"
    assert seeded_parameters(adapted, "eu-west-1") == {
        f"/rehearsal{public}": "arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-x86_64:1"
    }
    assert len(changes) == 2


def test_a_skipped_alarm_read_by_arn_gets_the_arn_cloudwatch_gives_it_and_becomes_a_stand_in() -> None:
    alarm = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "acme-fraud-detector-drift-c0"}}
    rule = {
        "Type": "AWS::Events::Rule",
        "Properties": {"EventPattern": {"resources": [{"Fn::GetAtt": ["Drift", "Arn"]}]}},
    }
    other = {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "acme-fraud-detector-5xx"}}
    adapted, changes = adapt_template("s", template(Drift=alarm, Rule=rule, Errors=other), no_outputs)
    arn = adapted["Resources"]["Rule"]["Properties"]["EventPattern"]["resources"][0]
    assert arn == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":cloudwatch:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":alarm:acme-fraud-detector-drift-c0",
            ],
        ]
    }
    # Only the alarm something reads is a stand-in; the rule is kept, not left out.
    assert set(adapted["Outputs"]) == {f"{STAND_IN_OUTPUT}Drift"}
    assert [(c.logical_id, c.change) for c in changes] == [
        ("Drift", "alarm ARN resolved from its name; the alarm created through the API")
    ]


def test_archives_are_named_and_their_pattern_given_as_text() -> None:
    pattern = {"source": ["platform.model-approval"]}
    adapted, changes = adapt_template(
        "s",
        template(Requests={"Type": "AWS::Events::Archive", "Properties": {"EventPattern": pattern}}),
        no_outputs,
    )
    properties = adapted["Resources"]["Requests"]["Properties"]
    assert properties == {"ArchiveName": "Requests", "EventPattern": {"Fn::ToJsonString": pattern}}
    assert len(changes) == 2


def test_a_bus_is_named_wherever_it_is_referenced_and_in_outputs() -> None:
    adapted, changes = adapt_template(
        "s",
        {
            "Resources": {
                "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "acme-model-deployments"}},
                "Rule": {"Type": "AWS::Events::Rule", "Properties": {"EventBusName": {"Ref": "Bus"}}},
                "Archive": {
                    "Type": "AWS::Events::Archive",
                    "Properties": {"ArchiveName": "a", "SourceArn": {"Fn::GetAtt": ["Bus", "Arn"]}},
                },
            },
            "Outputs": {"BusName": {"Value": {"Ref": "Bus"}}},
        },
        no_outputs,
    )
    assert adapted["Resources"]["Rule"]["Properties"]["EventBusName"] == "acme-model-deployments"
    assert adapted["Outputs"]["BusName"]["Value"] == "acme-model-deployments"
    assert adapted["Resources"]["Archive"]["Properties"]["SourceArn"] == {"Fn::GetAtt": ["Bus", "Arn"]}
    assert sorted(c.logical_id for c in changes if c.change == "event bus named instead of referenced") == [
        "Rule",
        "output BusName",
    ]


def test_a_stand_in_reading_what_the_emulator_cannot_create_is_kept_without_it() -> None:
    pipeline = {
        "Type": "AWS::CodePipeline::Pipeline",
        "Properties": {"Name": "p", "Stages": [{"Configuration": {"ProjectName": {"Ref": "Synth"}}}]},
    }
    policy = {"Type": "AWS::IAM::Policy", "Properties": {"Resource": {"Fn::GetAtt": ["Synth", "Arn"]}}}
    adapted, changes = adapt_template(
        "s",
        template(Synth={"Type": "AWS::CodeBuild::Project", "Properties": {}}, Pipeline=pipeline, Policy=policy),
        no_outputs,
    )
    output = adapted["Outputs"][f"{STAND_IN_OUTPUT}Pipeline"]["Value"]["Fn::ToJsonString"]
    assert output["Properties"]["Stages"] == [{"Configuration": {"ProjectName": UNRESOLVED}}]
    assert ("Pipeline", f"stand-in reads {UNRESOLVED} instead") in {(c.logical_id, c.change) for c in changes}


def test_a_codepipeline_stand_in_is_declared_as_createpipeline_takes_it() -> None:
    properties = {
        "Name": "acme-fraud-detector-deploy",
        "RoleArn": "arn:aws:iam::333333333333:role/r",
        "PipelineType": "V2",
        "RestartExecutionOnUpdate": False,
        "ArtifactStores": [
            {
                "Region": "eu-west-1",
                "ArtifactStore": {"Location": "b", "Type": "S3", "EncryptionKey": {"Id": "k", "Type": "KMS"}},
            }
        ],
        "Variables": [{"Name": "ModelPackageArn", "DefaultValue": "none"}],
        "Stages": [
            {
                "Name": "Source",
                "Actions": [
                    {
                        "Name": "Repository",
                        "ActionTypeId": {
                            "Category": "Source",
                            "Owner": "AWS",
                            "Provider": "CodeStarSourceConnection",
                            "Version": "1",
                        },
                        "Configuration": {
                            "FullRepositoryId": "acme/ml-platform",
                            "DetectChanges": False,
                            "ProjectName": None,
                        },
                        "OutputArtifacts": [{"Name": "Source"}],
                        "RunOrder": 1,
                    }
                ],
            }
        ],
    }
    declaration = pipeline_declaration(properties)
    assert declaration["artifactStores"] == {
        "eu-west-1": {"location": "b", "type": "S3", "encryptionKey": {"id": "k", "type": "KMS"}}
    }
    assert declaration["variables"] == [{"name": "ModelPackageArn", "defaultValue": "none"}]
    action = declaration["stages"][0]["actions"][0]
    assert action["actionTypeId"] == {
        "category": "Source",
        "owner": "AWS",
        "provider": "CodeStarSourceConnection",
        "version": "1",
    }
    assert action["configuration"] == {
        "FullRepositoryId": "acme/ml-platform",
        "DetectChanges": "false",
        "ProjectName": UNRESOLVED,
    }
    assert "restartExecutionOnUpdate" not in declaration


def test_parameters_are_checked_as_cloudformation_would_where_moto_does_not() -> None:
    declared = {
        "Parameters": {
            "ModelPackageArn": {"Type": "String", "AllowedPattern": "^arn:aws:sagemaker:.*/\\d+$"},
            "Key": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/acme/serving/key-arn"},
        }
    }
    assert (
        check_parameters(declared, {"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:5:model-package/g/1"})
        == "ModelPackageArn"
    )
    with pytest.raises(RehearsalError, match="does not match its AllowedPattern"):
        check_parameters(declared, {"ModelPackageArn": "arn:aws:sagemaker:eu-west-1:5:model-package/g/latest"})
    with pytest.raises(RehearsalError, match="without a default are not given"):
        check_parameters(declared, {})


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex((LOOPBACK, port)) != 0


def test_a_layout_whose_roles_share_an_account_is_refused_before_synthesis(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(ROOT / "tests" / "layouts" / "sandbox.yaml"), "--work", str(tmp_path / "work")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: churn's development, shared-services and production accounts are sandbox, ")
    assert "does not yet rehearse roles that share one" in error
    assert not (tmp_path / "work").exists()


def test_the_emulator_listens_on_loopback_only_and_stops_on_exit(tmp_path: Path) -> None:
    with moto_server("eu-west-1", tmp_path / "moto.log") as emulator:
        assert emulator.endpoint == f"http://localhost:{emulator.port}"
        environment = emulator.environment({"AWS_PROFILE": "production", "PATH": "/bin"})
        assert "AWS_PROFILE" not in environment
        assert environment["AWS_ENDPOINT_URL"] == emulator.endpoint
        assert environment["PATH"] == "/bin"
        assert not refuses_connections(emulator.port)
    assert refuses_connections(emulator.port)
    assert f"Running on http://{LOOPBACK}:{emulator.port}" in (tmp_path / "moto.log").read_text()


def test_each_account_acts_in_its_own_account_of_one_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "999999999999")  # would put every request in one account
    with moto_server("eu-west-1", tmp_path / "moto.log") as emulator:
        monkeypatch.setattr(os, "environ", emulator.environment(os.environ))
        sessions = AccountSessions(emulator, os.environ, {"ml-dev": "555555555555", "shared-services": "333333333333"})
        with sessions.use("shared-services") as account:
            assert boto3.client("sts").get_caller_identity()["Account"] == account == "333333333333"
            bus = boto3.client("events").create_event_bus(Name="acme-model-deployments")["EventBusArn"]
        with sessions.use("ml-dev") as account:
            assert boto3.client("sts").get_caller_identity()["Account"] == account == "555555555555"
            names = [b["Name"] for b in boto3.client("events").list_event_buses()["EventBuses"]]
        assert bus == "arn:aws:events:eu-west-1:333333333333:event-bus/acme-model-deployments"
        assert names == ["default"]


def test_a_failure_of_the_preflight_in_a_rehearsed_account_fails_the_rehearsal() -> None:
    def finding(proof: str, where: str, verdict: Verdict = Verdict.FAILS) -> Finding:
        return Finding(proof, where, "acme-serving/Role", "needs iam:PassRole", "AWS rule", "fix", verdict)

    report = Report(accounts={}, stages=[])
    findings = [
        finding("quotas", "ml-prod 777777777777/eu-west-1", Verdict.UNDECIDED),
        finding("deploy-permissions", "ml-test 666666666666/eu-west-1"),  # not rehearsed
    ]
    preflight_verdicts(report, ["ml-dev", "shared-services", "ml-prod"], findings)
    assert report.completed
    verdicts = {s.title: (s.outcome, s.detail.split(": ", 1)[1]) for s in report.steps}
    assert verdicts["quotas"] == ("not-shown", "0 failing, 1 undecided offline")
    assert verdicts["CloudFormation's execution role"] == ("not-shown", "0 failing, 0 undecided offline")
    assert all(step.limit is not None for step in report.steps)

    report = Report(accounts={}, stages=[])
    preflight_verdicts(report, ["ml-prod"], [finding("deploy-permissions", "ml-prod 777777777777/eu-west-1")] * 5)
    failed = [s for s in report.steps if s.outcome == "failed"]
    assert [s.title for s in failed] == ["CloudFormation's execution role"]
    named = "; fails in ml-prod 777777777777/eu-west-1: acme-serving/Role"
    assert (
        failed[0].detail
        == f"preflight (deploy-permissions, no-escalation) on ml-prod: 5 failing, 0 undecided offline{named * 3}; 2 more (make preflight)"
    )
    assert not report.completed


@pytest.fixture
def accounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[AccountSessions]:
    """One emulator serving ml-dev, shared-services and ml-prod, as the rehearsal has it."""
    with moto_server("eu-west-1", tmp_path / "moto.log") as emulator:
        monkeypatch.setattr(os, "environ", emulator.environment(os.environ))
        yield AccountSessions(emulator, os.environ, {"ml-dev": DEV, "shared-services": SHARED, "ml-prod": PROD})


DEV, SHARED, PROD = "555555555555", "333333333333", "777777777777"


def test_a_drift_alarm_crosses_only_by_a_rule_that_matches_it_and_targets_the_development_bus(
    accounts: AccountSessions,
) -> None:
    with accounts.use("ml-dev"):
        drift_bus = boto3.client("events").create_event_bus(Name="acme-drift")["EventBusArn"]
    with accounts.use("ml-prod"):
        cloudwatch, events = boto3.client("cloudwatch"), boto3.client("events")
        for alarm in ("acme-fraud-detector-drift-c0", "acme-churn-predictor-drift-c0"):
            cloudwatch.put_metric_alarm(
                AlarmName=alarm,
                Namespace="aws/sagemaker/Endpoints/data-metrics",
                MetricName="feature_baseline_drift_c0",
                Statistic="Maximum",
                Period=3600,
                EvaluationPeriods=1,
                Threshold=0.1,
                ComparisonOperator="GreaterThanThreshold",
            )
        fraud = f"arn:aws:cloudwatch:eu-west-1:{PROD}:alarm:acme-fraud-detector-drift-c0"
        pattern = {
            "source": ["aws.cloudwatch"],
            "detail-type": ["CloudWatch Alarm State Change"],
            "resources": [fraud],
            "detail": {"state": {"value": ["ALARM"]}},
        }
        events.put_rule(Name="forward", EventPattern=json.dumps(pattern))
        # A bus of the same name in the sending account: the alarm would never reach ml-dev.
        own_bus = events.create_event_bus(Name="acme-drift")["EventBusArn"]
        events.put_targets(Rule="forward", Targets=[{"Id": "drift", "Arn": own_bus}])
        raised = raise_alarm("acme-fraud-detector-drift-c0")
        assert (raised["account"], raised["resources"], raised["detail"]["state"]["value"]) == (PROD, [fraud], "ALARM")
        with pytest.raises(
            RehearsalError, match=f"sends the event to {drift_bus}; default/forward sends it to {own_bus}$"
        ):
            forwarding_rule(raised, drift_bus)
        events.put_targets(Rule="forward", Targets=[{"Id": "drift", "Arn": drift_bus}])
        assert forwarding_rule(raised, drift_bus)[0] == "default/forward"
        other = raise_alarm("acme-churn-predictor-drift-c0")
        with pytest.raises(RehearsalError, match=f"no deployed rule sends the event to {drift_bus}$"):
            forwarding_rule(other, drift_bus)


def test_a_relayed_request_reaches_only_the_function_whose_rule_on_the_bus_matches_it(
    accounts: AccountSessions,
) -> None:
    starter = DeployedFunction("starter", f"arn:aws:lambda:eu-west-1:{SHARED}:function:starter", {})
    request = eventbridge_event(
        "platform.model-approval",
        "Model Package Approved For Deployment",
        account=DEV,
        region="eu-west-1",
        resource=f"arn:aws:sagemaker:eu-west-1:{DEV}:model-package/acme-fraud-detector/1",
        detail={"model": "fraud-detector"},
    )
    with accounts.use("shared-services"):
        events = boto3.client("events")
        events.create_event_bus(Name="acme-model-deployments")
        pattern = {"source": ["platform.model-approval"], "detail-type": ["Model Package Approved For Deployment"]}
        events.put_rule(Name="requests", EventBusName="acme-model-deployments", EventPattern=json.dumps(pattern))
        events.put_targets(
            Rule="requests", EventBusName="acme-model-deployments", Targets=[{"Id": "s", "Arn": starter.arn}]
        )
        assert rule_matching(starter, request) == "acme-model-deployments/requests"
        with pytest.raises(RehearsalError, match="no deployed rule that targets starter matches the event"):
            rule_matching(starter, {**request, "source": "platform.other"})
        another = DeployedFunction("another", f"arn:aws:lambda:eu-west-1:{SHARED}:function:another", {})
        with pytest.raises(RehearsalError, match="no deployed rule that targets another matches the event"):
            rule_matching(another, request)


def test_production_takes_the_parameters_of_the_action_that_deploys_the_endpoint_there() -> None:
    def action(name: str, account: str, overrides: dict[str, str]) -> dict[str, Any]:
        return {
            "name": name,
            "actionTypeId": {"category": "Deploy", "owner": "AWS", "provider": "CloudFormation", "version": "1"},
            "roleArn": f"arn:aws:iam::{account}:role/cdk-hnb659fds-deploy-role-{account}-eu-west-1",
            "configuration": {"StackName": "acme-endpoint-fraud-detector", "ParameterOverrides": json.dumps(overrides)},
        }

    package = f"arn:aws:sagemaker:eu-west-1:{DEV}:model-package/acme-fraud-detector/1"
    execution = Execution("acme-fraud-detector-deploy", "e1", {"ModelPackageArn": package})
    test_stage = {"name": "Test", "actions": [action("Deploy", "666666666666", {"ModelPackageArn": "test"})]}
    production = {
        "name": "Production",
        "actions": [action("Deploy", PROD, {"ModelPackageArn": "#{variables.ModelPackageArn}"})],
    }
    declaration = {"stages": [test_stage, production]}
    assert production_action(declaration, "acme-endpoint-fraud-detector", PROD, execution) == (
        "Production/Deploy",
        {"ModelPackageArn": package},
    )
    with pytest.raises(RehearsalError, match=f"no action of acme-fraud-detector-deploy deploys .* to {PROD}"):
        production_action({"stages": [test_stage]}, "acme-endpoint-fraud-detector", PROD, execution)
    production["actions"] = [action("Deploy", PROD, {"ChampionModelPackageArn": "#{variables.Champion}"})]
    with pytest.raises(RehearsalError, match=r"reads variables the execution lacks: \['Champion'\]"):
        production_action(declaration, "acme-endpoint-fraud-detector", PROD, execution)


@pytest.fixture(scope="module")
def rehearsal(org: SynthesizedOrg, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    work = tmp_path_factory.mktemp("rehearsal")
    rest = ["--work", str(work)]
    result = subprocess.run(
        [sys.executable, "-m", "tools.rehearse", str(EXAMPLE_CONFIG), *("--assembly", str(org.directory)), *rest],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, Any] = json.loads((work / "report.json").read_text())
    report["stdout"] = result.stdout
    return report


def step(report: dict[str, Any], title: str, account: str | None = None) -> dict[str, Any]:
    matches: list[dict[str, Any]] = [
        s for s in report["steps"] if s["title"].startswith(title) and account in (None, s["account"])
    ]
    assert len(matches) == 1, [s["title"] for s in report["steps"]]
    return matches[0]


def test_the_rehearsal_deploys_each_accounts_stages_on_the_flows(rehearsal: dict[str, Any]) -> None:
    assert rehearsal["accounts"] == {
        "ml-dev": "555555555555",
        "shared-services": "333333333333",
        "ml-prod": "777777777777",
    }
    assert rehearsal["stages"] == [
        "MlDevBaseline",
        "MlDevDevelopment",
        "SharedServicesBaseline",
        "SharedServicesTooling",
        "MlProdBaseline",
        "MlProdServing",
        "MlProdEndpoints",
    ]
    deployed = {(stack["account"], stack["stack_name"]) for stack in rehearsal["stacks"]}
    assert {
        ("ml-dev", name)
        for name in ("acme-baseline", "acme-model-registry", "acme-team-fraud", "acme-model-build-fraud-0")
    } <= deployed
    assert {
        ("shared-services", name) for name in ("acme-baseline", "acme-tooling", "acme-model-deployments-0")
    } <= deployed
    assert {("ml-prod", name) for name in ("acme-baseline", "acme-serving", "acme-endpoint-fraud-detector")} <= deployed
    assert all(stack["status"] == "CREATE_COMPLETE" for stack in rehearsal["stacks"])
    for account, account_id in rehearsal["accounts"].items():
        assert step(rehearsal, "credentials select the account", account)["detail"].endswith(account_id)
        assert step(rehearsal, "CDK bootstrap", account)["detail"].startswith(f"aws://{account_id}/eu-west-1")
    not_deployed = {stack["path"]: stack["reason"] for stack in rehearsal["not_deployed"]}
    assert not_deployed["SharedServicesTooling/PipelineReplication-eu-central-1"].startswith("in eu-central-1")
    assert not_deployed["MlProdEndpoints/Endpoint-churn-predictor"].startswith("not on the rehearsed flows")


def test_the_approval_requests_the_deployment_once_on_shared_services_bus(rehearsal: dict[str, Any]) -> None:
    assert step(rehearsal, "approval rule matches")["account"] == "ml-dev"
    requested = json.loads(step(rehearsal, "deployment requested")["detail"])
    # The model whose drift alarm is rehearsed: fraud-detector, whose auc must be at least 0.8.
    assert requested["model"] == "fraud-detector"
    assert requested["metric"] == {"name": "auc", "value": 0.85}
    assert sorted(requested["baselines"]) == [
        "BiasConfigUri",
        "BiasConstraintsUri",
        "DataQualityConstraintsUri",
        "DataQualityStatisticsUri",
        "ExplainabilityConfigUri",
        "ExplainabilityConstraintsUri",
    ]
    assert step(rehearsal, "approved package recorded")["detail"].startswith("/acme/models/fraud-detector/")
    assert step(rehearsal, "duplicate delivery of the event changed nothing")["outcome"] == "ok"
    stand_in = step(rehearsal, "deployment bus acme-model-deployments recorded in ml-dev")
    assert stand_in["outcome"] == "stand-in"
    assert stand_in["detail"].endswith("arn:aws:events:eu-west-1:333333333333:event-bus/acme-model-deployments")
    assert "_normalize_event_bus_arn" in stand_in["limit"]["source"]


def test_the_request_crosses_to_shared_services_and_starts_the_deployment_pipeline(rehearsal: dict[str, Any]) -> None:
    relayed = step(rehearsal, "deployment request carried to acme-model-deployments")
    assert (relayed["outcome"], relayed["account"]) == ("relayed", "shared-services")
    assert "Rule.send_to_targets" in relayed["limit"]["source"]
    assert step(rehearsal, "deployment rule matches the request")["detail"].startswith("acme-model-deployments/")
    package = step(rehearsal, "model package registered")["detail"].split(" ")[0]
    started = step(rehearsal, "deployment pipeline acme-fraud-detector-deploy started", "shared-services")
    assert f"ModelPackageArn={package}," in started["detail"]
    assert started["detail"].endswith(
        "baselines BiasConfigUri, BiasConstraintsUri, DataQualityConstraintsUri, DataQualityStatisticsUri, "
        "ExplainabilityConfigUri, ExplainabilityConstraintsUri"
    )
    assert step(rehearsal, "the package is its own champion")["detail"] == f"ChampionModelPackageArn={package}"
    # The starter promises a duplicate starts nothing new through CodePipeline's client request
    # token, which moto ignores: the report says so, and what it could check.
    relayed_id = relayed["detail"].split(" ")[1]
    duplicate = step(rehearsal, "duplicate delivery starts no second execution")
    assert duplicate["outcome"] == "not-shown"
    assert duplicate["detail"].startswith(f"both starts carried client request token {relayed_id} (the event id)")
    assert step(rehearsal, "acme-fraud-detector-deploy's stages")["outcome"] == "not-shown"


def test_production_deploys_with_the_parameters_of_the_pipelines_production_action(rehearsal: dict[str, Any]) -> None:
    action = step(rehearsal, "acme-endpoint-fraud-detector takes the parameters")
    assert action["title"].endswith("of acme-fraud-detector-deploy's Production/Deploy-fraud-detector")
    checked = step(rehearsal, "acme-endpoint-fraud-detector's parameters meet its constraints", "ml-prod")
    assert checked["detail"].split(", ") == [
        "BiasConfigUri",
        "BiasConstraintsUri",
        "ChampionModelPackageArn",
        "DataQualityConstraintsUri",
        "DataQualityStatisticsUri",
        "ExplainabilityConfigUri",
        "ExplainabilityConstraintsUri",
        "ModelPackageArn",
    ]
    assert "AllowedPattern" in checked["limit"]["not_shown"]
    stand_ins = {s["title"] for s in rehearsal["steps"] if s["outcome"] == "stand-in" and s["account"] == "ml-prod"}
    assert "AWS::CloudWatch::Alarm acme-fraud-detector-drift-c0 created through the API" in stand_ins


def test_the_drift_alarm_crosses_from_production_and_starts_retraining_once(rehearsal: dict[str, Any]) -> None:
    raised = step(rehearsal, "drift alarm raised", "ml-prod")
    assert raised["detail"].startswith("acme-fraud-detector-drift-c0: Threshold Crossed")
    assert "set_alarm_state" in raised["limit"]["source"]
    forwarding = step(rehearsal, "forwarding rule matches the alarm's change", "ml-prod")
    assert " sends it to arn:aws:events:eu-west-1:555555555555:event-bus/acme-drift as " in forwarding["detail"]
    relayed = step(rehearsal, "drift alarm carried to acme-drift", "ml-dev")
    assert relayed["outcome"] == "relayed"
    assert " of ml-prod (777777777777), " in relayed["detail"]
    assert step(rehearsal, "drift rule matches", "ml-dev")["detail"].startswith("acme-drift/")
    started = step(rehearsal, "retraining pipeline acme-fraud-detector-build started", "ml-dev")
    assert started["detail"] == "RetrainingReason=drift: acme-fraud-detector-drift-c0 on acme-fraud-detector"
    assert "cooldown" in step(rehearsal, "a second alarm inside the cooldown")["detail"]


def test_what_moto_does_not_evaluate_is_proven_by_the_flow_proofs(rehearsal: dict[str, Any]) -> None:
    for flow in ("approval of fraud-detector", "deployment of fraud-detector", "drift retraining of fraud-detector"):
        proven = step(rehearsal, f"make flows: {flow}")
        assert proven["outcome"] == "ok"
        assert "INITIAL_NO_AUTH_ACTION_COUNT" in proven["limit"]["source"]
    assert "the alarm crosses to the development account's bus" in step(rehearsal, "make flows: drift")["detail"]
    assert (
        "a principal outside the organization cannot ask for a deployment"
        in step(rehearsal, "make flows: approval")["detail"]
    )


def test_what_moto_does_not_enforce_or_run_is_said_with_the_preflights_verdicts(rehearsal: dict[str, Any]) -> None:
    proofs = {
        "CloudFormation's execution role": "deploy-permissions, no-escalation",
        "CloudFormation's capabilities": "deploy-actions",
        "references across accounts": "references",
        "the network path": "network",
        "quotas": "quotas",
    }
    for title, names in proofs.items():
        verdict = step(rehearsal, title, "")
        assert verdict["outcome"] == "not-shown"
        assert verdict["detail"].startswith(f"preflight ({names}) on ml-dev, shared-services, ml-prod: 0 failing, ")
    # A new account's SageMaker instance quotas are not published: undecided, and said.
    assert not step(rehearsal, "quotas")["detail"].endswith(" 0 undecided offline")
    assert "never read Capabilities" in step(rehearsal, "CloudFormation's capabilities")["limit"]["source"]
    assert "Stack keeps the RoleARN" in step(rehearsal, "CloudFormation's execution role")["limit"]["source"]
    lambda_ = step(rehearsal, "Lambda")
    assert lambda_["detail"] == "the handlers ran in this process: model_approval, deployment_starter, drift_retraining"
    assert "Docker" in lambda_["limit"]["source"]
    assert "the endpoint acme-fraud-detector" in step(rehearsal, "SageMaker")["detail"]
    assert "(InsufficientCapabilities)" in rehearsal["stdout"]


def test_the_report_says_what_the_emulator_skipped_changed_and_could_not_show(rehearsal: dict[str, Any]) -> None:
    skipped = {t for stack in rehearsal["stacks"] for t in stack["skipped_types"]}
    assert {"AWS::SageMaker::Domain", "AWS::SageMaker::Pipeline", "AWS::CloudWatch::Alarm"} <= skipped
    assert {"AWS::CodePipeline::Pipeline", "AWS::Events::EventBusPolicy"} <= skipped
    assert "skipped by moto's CloudFormation: AWS::SageMaker::Domain" in rehearsal["stdout"]
    reasons = {adaptation["reason"] for adaptation in rehearsal["adaptations"]}
    assert "moto does not implement Fn::GetStackOutput" in reasons
    stand_ins = [s["title"] for s in rehearsal["steps"] if s["outcome"] == "stand-in"]
    assert "AWS::SageMaker::Pipeline acme-fraud-detector-build created through the API" in stand_ins
    assert "AWS::CodePipeline::Pipeline acme-fraud-detector-deploy created through the API" in stand_ins
    assert "What the emulator could not show, and what stood for it:" in rehearsal["stdout"]
    assert "  EventBridge's delivery to another account\n      why: moto/events/models.py" in rehearsal["stdout"]
    assert set(rehearsal["timings"]) >= {"ml-dev deploy", "shared-services deploy", "ml-prod deploy", "emulator"}
    assert rehearsal["stdout"].rstrip().endswith("Rehearsal completed.")


def test_the_rehearsal_stops_the_server_it_started(rehearsal: dict[str, Any]) -> None:
    endpoint = step(rehearsal, "moto server started")["detail"].split(",")[0]
    assert refuses_connections(int(endpoint.rsplit(":", 1)[1]))
    assert rehearsal["steps"][-1]["title"] == "moto server stopped"
