"""The smoke-test action, fed the CodePipeline job event of AWS's documentation, against
stubbed STS, SageMaker, SageMaker runtime and CodePipeline (moto keeps no CodePipeline jobs)."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.lambda_fns.conftest import LocalContext, event, load_handler

smoke = load_handler("smoke_test")
JOB = "11111111-abcd-1111-abcd-111111abcdef"
ENDPOINT = "acme-fraud-detector"
ROLE = "arn:aws:iam::666666666666:role/acme-smoke-test"


@dataclass
class Stubs:
    sts: Stubber
    sagemaker: Stubber
    runtime: Stubber
    codepipeline: Stubber

    def all(self) -> list[Stubber]:
        return [self.sts, self.sagemaker, self.runtime, self.codepipeline]


def _client(service: str) -> Any:
    session = boto3.Session(region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return session.client(service)  # type: ignore[call-overload]  # the service name is a variable


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubs]:
    clients = {name: _client(name) for name in ("sts", "sagemaker", "sagemaker-runtime", "codepipeline")}
    sessions: list[dict[str, Any]] = []

    class Session:
        def __init__(self, **credentials: Any) -> None:
            sessions.append(credentials)

        def client(self, service: str, **_: Any) -> Any:
            return clients[service]

    monkeypatch.setattr(smoke.boto3, "client", lambda service, **_: clients[service])
    monkeypatch.setattr(smoke.boto3, "Session", Session)
    stubs = Stubs(*(Stubber(clients[name]) for name in ("sts", "sagemaker", "sagemaker-runtime", "codepipeline")))
    for stub in stubs.all():
        stub.activate()
    yield stubs
    for stub in stubs.all():
        stub.assert_no_pending_responses()
        stub.deactivate()
    assert all(session.get("aws_session_token") == "token" for session in sessions), "calls run as the assumed role"


def job(continuation: str | None = None, **parameters: Any) -> dict[str, Any]:
    sample = event("codepipeline_lambda_invoke")
    data = sample["CodePipeline.job"]["data"]
    configured = json.loads(data["actionConfiguration"]["configuration"]["UserParameters"])
    configured.update(parameters)
    data["actionConfiguration"]["configuration"]["UserParameters"] = json.dumps(
        {key: value for key, value in configured.items() if value is not None}
    )
    if continuation is not None:
        data["continuationToken"] = continuation
    return sample


def assume(stubs: Stubs) -> None:
    stubs.sts.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLEEXAMPLE12",
                "SecretAccessKey": "secret",
                "SessionToken": "token",
                "Expiration": "2026-11-22T12:00:00Z",
            }
        },
        {"RoleArn": ROLE, "RoleSessionName": "smoke-test"},
    )


def endpoint_is(stubs: Stubs, status: str, **extra: Any) -> None:
    stubs.sagemaker.add_response(
        "describe_endpoint",
        {
            "EndpointName": ENDPOINT,
            "EndpointArn": f"arn:aws:sagemaker:eu-west-1:666666666666:endpoint/{ENDPOINT}",
            "EndpointConfigName": "config",
            "EndpointStatus": status,
            "CreationTime": "2026-11-22T10:00:00Z",
            "LastModifiedTime": "2026-11-22T10:00:00Z",
            **extra,
        },
        {"EndpointName": ENDPOINT},
    )


CHAMPION = "arn:aws:sagemaker:eu-west-1:555555555555:model-package/acme-fraud-detector/2"
DEPLOYED = "arn:aws:sagemaker:eu-west-1:555555555555:model-package/acme-fraud-detector/3"


def serves(stubs: Stubs, variants: dict[str, str], shadows: dict[str, str] | None = None) -> None:
    """The endpoint's config ("config") serves each package on the variants named: what
    DescribeEndpointConfig and DescribeModel answer, one model per package."""
    models = {package: f"Model{index}-a1B2c3D4" for index, package in enumerate(dict.fromkeys(variants.values()))}
    models.update({p: f"Shadow{i}-e5F6" for i, p in enumerate((shadows or {}).values()) if p not in models})

    def variant(name: str, package: str) -> dict[str, Any]:
        return {"VariantName": name, "ModelName": models[package], "InstanceType": "ml.m5.large"}

    stubs.sagemaker.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "config",
            "EndpointConfigArn": "arn:aws:sagemaker:eu-west-1:666666666666:endpoint-config/config",
            "ProductionVariants": [variant(name, package) for name, package in variants.items()],
            **(
                {"ShadowProductionVariants": [variant(name, package) for name, package in shadows.items()]}
                if shadows
                else {}
            ),
            "CreationTime": "2026-11-22T10:00:00Z",
        },
        {"EndpointConfigName": "config"},
    )
    for package, model in models.items():
        stubs.sagemaker.add_response(
            "describe_model",
            {
                "ModelName": model,
                "PrimaryContainer": {"ModelPackageName": package},
                "ExecutionRoleArn": "arn:aws:iam::666666666666:role/acme-model-execution",
                "CreationTime": "2026-11-22T10:00:00Z",
                "ModelArn": f"arn:aws:sagemaker:eu-west-1:666666666666:model/{model.lower()}",
            },
            {"ModelName": model},
        )


def answers(stubs: Stubs, body: bytes = b"0.973\n", **expected: Any) -> None:
    stubs.runtime.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": "text/csv"},
        {"EndpointName": ENDPOINT, "ContentType": "text/csv", "Body": b"17.99,10.38,122.8", **expected},
    )


def succeeds(stubs: Stubs, **result: Any) -> None:
    stubs.codepipeline.add_response("put_job_success_result", {}, {"jobId": JOB, **result})


def fails(stubs: Stubs, message: str) -> None:
    stubs.codepipeline.add_response(
        "put_job_failure_result", {}, {"jobId": JOB, "failureDetails": {"type": "JobFailed", "message": message}}
    )


def test_an_in_service_endpoint_that_answers_in_time_passes(aws, monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(smoke.time, "perf_counter", lambda: next(clock))
    assume(aws)
    endpoint_is(aws, "InService")
    answers(aws)
    succeeds(aws, executionDetails={"summary": f"{ENDPOINT} answered 6 bytes in 250 ms"})
    assert smoke.handler(job(), LocalContext()) == {"outcome": "passed"}


def test_the_variant_that_serves_the_deployed_package_is_the_one_invoked(aws, monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(smoke.time, "perf_counter", lambda: next(clock))
    assume(aws)
    endpoint_is(aws, "InService")
    serves(aws, {"champion": CHAMPION, "challenger": DEPLOYED})
    answers(aws, TargetVariant="challenger")
    succeeds(aws, executionDetails={"summary": f"{ENDPOINT} answered 6 bytes in 250 ms"})
    assert smoke.handler(job(model_package_arn=DEPLOYED), LocalContext()) == {"outcome": "passed"}


def test_an_endpoint_rolled_back_to_the_previous_package_fails_though_it_is_in_service(aws):
    # A blue/green update that its alarms rolled back leaves the endpoint InService on the
    # previous config (and CloudFormation reports the update complete): the old model must not
    # pass for the new one, nor go on to production.
    assume(aws)
    endpoint_is(aws, "InService")
    serves(aws, {"champion": CHAMPION, "challenger": CHAMPION})
    fails(
        aws,
        f"{ENDPOINT} does not serve {DEPLOYED} (its variants serve {CHAMPION}): the deployment did not take "
        "effect, for example a blue/green update rolled back",
    )
    assert smoke.handler(job(model_package_arn=DEPLOYED), LocalContext()) == {"outcome": "failed"}


def test_a_shadow_challenger_gets_its_copy_of_a_request_to_the_endpoint(aws, monkeypatch):
    clock = iter([10.0, 10.25])
    monkeypatch.setattr(smoke.time, "perf_counter", lambda: next(clock))
    assume(aws)
    endpoint_is(aws, "InService")
    serves(aws, {"champion": CHAMPION}, shadows={"shadow": DEPLOYED})
    answers(aws)  # no TargetVariant: a shadow variant cannot be targeted
    succeeds(aws, executionDetails={"summary": f"{ENDPOINT} answered 6 bytes in 250 ms"})
    assert smoke.handler(job(model_package_arn=DEPLOYED), LocalContext()) == {"outcome": "passed"}


def test_without_a_payload_the_status_and_the_package_are_checked(aws):
    assume(aws)
    endpoint_is(aws, "InService")
    serves(aws, {"champion": DEPLOYED})
    succeeds(
        aws,
        executionDetails={
            "summary": f"{ENDPOINT} is InService (no payload configured: status and package checked only)"
        },
    )
    assert smoke.handler(job(payload=None, model_package_arn=DEPLOYED), LocalContext()) == {"outcome": "passed"}


def test_a_slow_answer_fails_with_the_latency(aws, monkeypatch):
    clock = iter([10.0, 11.5])
    monkeypatch.setattr(smoke.time, "perf_counter", lambda: next(clock))
    assume(aws)
    endpoint_is(aws, "InService")
    answers(aws)
    fails(aws, f"{ENDPOINT} answered in 1500 ms, over 1000 ms")
    assert smoke.handler(job(), LocalContext()) == {"outcome": "failed"}


def test_an_updating_endpoint_keeps_the_action_open_instead_of_waiting(aws):
    assume(aws)
    endpoint_is(aws, "Updating")
    succeeds(aws, continuationToken="4")
    assert smoke.handler(job(continuation="3"), LocalContext()) == {"outcome": "checking"}


def test_an_endpoint_still_updating_after_the_last_check_fails(aws):
    assume(aws)
    endpoint_is(aws, "Creating")
    fails(aws, f"{ENDPOINT} is still Creating after {smoke.MAX_CHECKS} checks")
    assert smoke.handler(job(continuation=str(smoke.MAX_CHECKS - 1)), LocalContext()) == {"outcome": "failed"}


def test_a_failed_endpoint_fails_with_its_reason(aws):
    assume(aws)
    endpoint_is(aws, "Failed", FailureReason="The primary container did not pass the ping health check.")
    fails(aws, f"{ENDPOINT} is Failed: The primary container did not pass the ping health check.")
    assert smoke.handler(job(), LocalContext()) == {"outcome": "failed"}


def test_a_model_error_fails_the_job_with_the_error(aws):
    assume(aws)
    endpoint_is(aws, "InService")
    aws.runtime.add_client_error("invoke_endpoint", service_error_code="ModelError", service_message="bad input")
    aws.codepipeline.add_response("put_job_failure_result", {}, None)
    assert smoke.handler(job(), LocalContext()) == {"outcome": "failed"}


def test_without_a_payload_only_the_status_is_checked_and_said_so(aws):
    assume(aws)
    endpoint_is(aws, "InService")
    succeeds(aws, executionDetails={"summary": f"{ENDPOINT} is InService (no payload configured: status checked only)"})
    assert smoke.handler(job(payload=None), LocalContext()) == {"outcome": "passed"}


def test_access_denied_fails_the_job_instead_of_leaving_it_open(aws):
    aws.sts.add_client_error("assume_role", service_error_code="AccessDenied", service_message="not trusted")
    aws.codepipeline.add_response("put_job_failure_result", {}, None)
    assert smoke.handler(job(), LocalContext()) == {"outcome": "failed"}


@pytest.mark.parametrize(
    "parameters",
    [
        "not json",
        json.dumps({"endpoint": ENDPOINT}),  # truncated: no role, no region
        json.dumps({"unknown": 1}),
        json.dumps({"endpoint": ENDPOINT, "role_arn": ROLE, "region": "eu-west-1", "max_latency_ms": "fast"})[:-5],
        "x" * 200_000,  # oversized
    ],
)
def test_bad_user_parameters_fail_the_job_with_the_reason(aws, parameters):
    sample = event("codepipeline_lambda_invoke")
    sample["CodePipeline.job"]["data"]["actionConfiguration"]["configuration"]["UserParameters"] = parameters
    aws.codepipeline.add_response("put_job_failure_result", {}, None)
    assert smoke.handler(sample, LocalContext()) == {"outcome": "failed"}


def test_a_result_already_reported_is_not_an_error(aws):
    assume(aws)
    endpoint_is(aws, "InService")
    aws.codepipeline.add_client_error("put_job_success_result", service_error_code="InvalidJobStateException")
    assert smoke.handler(job(payload=None), LocalContext()) == {"outcome": "passed"}


def test_codepipeline_errors_propagate_so_the_invocation_is_retried(aws):
    assume(aws)
    endpoint_is(aws, "InService")
    aws.codepipeline.add_client_error("put_job_success_result", service_error_code="ThrottlingException")
    with pytest.raises(Exception, match="ThrottlingException"):
        smoke.handler(job(payload=None), LocalContext())


@pytest.mark.parametrize("hostile", [None, [], {}, {"CodePipeline.job": "text"}, {"detail": {}}])
def test_events_without_a_job_are_ignored(aws, hostile):
    assert smoke.handler(hostile, LocalContext()) == {"outcome": "ignored"}
