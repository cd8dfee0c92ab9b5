"""The inference API function, fed API Gateway's documented REST proxy event, against a stubbed
SageMaker runtime: good requests reach the endpoint, bad ones get a 4xx and never do."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.response import StreamingBody
from botocore.stub import Stubber

from tests.lambda_fns.conftest import LocalContext, event, load_handler

api = load_handler("inference_api")
ENDPOINT = "acme-fraud-detector"
LIMIT = 64


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    monkeypatch.setenv("ENDPOINT_NAME", ENDPOINT)
    monkeypatch.setenv("MAX_PAYLOAD_BYTES", str(LIMIT))
    monkeypatch.setenv("CONTENT_TYPES", "application/json,text/csv")
    monkeypatch.delenv("MULTI_MODEL", raising=False)
    client = boto3.Session(region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x").client(
        "sagemaker-runtime"
    )
    monkeypatch.setattr(api, "runtime", lambda: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def request(body: str | None = "17.99,10.38,122.8,1001.0", content_type: str = "text/csv", **extra: Any) -> Any:
    headers = extra.pop("headers", {})
    sample = event("apigateway_proxy_request", body=body, **extra)
    sample["headers"] = {**sample["headers"], "Content-Type": content_type, **headers}
    return sample


def answers(stub: Stubber, body: bytes = b"0.973\n", content_type: str = "text/csv", **expected: Any) -> None:
    stub.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(body), len(body)), "ContentType": content_type},
        {"EndpointName": ENDPOINT, "ContentType": "text/csv", "Body": b"17.99,10.38,122.8,1001.0", **expected},
    )


def fails(stub: Stubber, code: str, message: str = "", **response: Any) -> None:
    stub.add_client_error(
        "invoke_endpoint", service_error_code=code, service_message=message, response_meta={}, modeled_fields=response
    )


def status_and_message(result: dict[str, Any]) -> tuple[int, str]:
    return result["statusCode"], json.loads(result["body"])["message"]


def test_a_good_request_returns_the_models_answer(runtime):
    answers(runtime)
    result = api.handler(request(), LocalContext())
    assert result == {
        "statusCode": 200,
        "headers": {"Content-Type": "text/csv"},
        "body": "0.973\n",
        "isBase64Encoded": False,
    }


def test_json_with_a_charset_and_base64_bodies_are_accepted(runtime):
    document = b'{"instances": [[1, 2]]}'
    runtime.add_response(
        "invoke_endpoint",
        {"Body": StreamingBody(io.BytesIO(b"\x00\xff"), 2), "ContentType": "application/x-npy"},
        {"EndpointName": ENDPOINT, "ContentType": "application/json", "Body": document},
    )
    sample = request(base64.b64encode(document).decode(), "application/json; charset=utf-8", isBase64Encoded=True)
    result = api.handler(sample, LocalContext())
    # A binary answer goes back base64-encoded, as API Gateway's proxy format requires.
    assert (result["statusCode"], result["isBase64Encoded"], result["body"]) == (200, True, "AP8=")


@pytest.mark.parametrize(
    ("sample", "status", "message"),
    [
        (request(content_type="application/xml"), 415, "Content-Type must be one of application/json, text/csv"),
        (request(content_type=""), 415, "Content-Type must be one of"),
        (request(body=None), 400, "the request has no body"),
        (request(body=""), 400, "the request has no body"),
        (request(body="1," * LIMIT), 413, f"the body is {2 * LIMIT} bytes; the limit is {LIMIT}"),
        (request(body="{not json", content_type="application/json"), 400, "the body is not valid JSON"),
        (request(body="%%%", isBase64Encoded=True), 400, "the body is marked base64 but is not valid base64"),
        (request(body=base64.b64encode(b"\xff\xfe").decode(), isBase64Encoded=True), 400, "not UTF-8"),
        (request(headers={"X-Target-Model": "a.tar.gz"}), 400, "hosts one model: send no X-Target-Model"),
        ({"detail-type": "Scheduled Event"}, 400, "not an API Gateway request"),
    ],
)
def test_bad_requests_get_a_clear_4xx_and_never_reach_the_endpoint(runtime, sample, status, message):
    # The stub has no response queued: any invocation would fail the test.
    result = api.handler(sample, LocalContext())
    got_status, got_message = status_and_message(result)
    assert got_status == status and message in got_message


def test_an_oversized_payload_is_measured_in_bytes_not_characters(runtime):
    result = api.handler(request(body="é" * (LIMIT // 2 + 1)), LocalContext())
    assert status_and_message(result)[0] == 413


def test_a_multi_model_endpoint_invokes_the_named_model_and_requires_one(runtime, monkeypatch):
    monkeypatch.setenv("MULTI_MODEL", "true")
    answers(runtime, TargetModel="segment-a.tar.gz")
    assert api.handler(request(headers={"x-target-model": "segment-a.tar.gz"}), LocalContext())["statusCode"] == 200
    for headers in ({}, {"X-Target-Model": "../../etc"}):
        status, message = status_and_message(api.handler(request(headers=headers), LocalContext()))
        assert status == 400 and "X-Target-Model must name the model archive" in message


@pytest.mark.parametrize(
    ("code", "extra", "status", "message"),
    [
        (
            "ModelError",
            {"OriginalStatusCode": 400, "OriginalMessage": "bad shape"},
            400,
            "rejected the request: bad shape",
        ),
        ("ModelError", {"OriginalStatusCode": 500, "OriginalMessage": "boom"}, 502, "the model failed to answer"),
        ("ThrottlingException", {}, 503, "busy or not in service"),
        ("ModelNotReadyException", {}, 503, "busy or not in service"),
        ("ValidationError", {}, 400, "Invalid input"),
        ("InternalFailure", {}, 502, "the endpoint could not answer"),
    ],
)
def test_model_and_service_errors_map_to_statuses_the_caller_can_act_on(runtime, code, extra, status, message):
    fails(runtime, code, "Invalid input" if code == "ValidationError" else "", **extra)
    result = api.handler(request(), LocalContext())
    assert status_and_message(result)[0] == status and message in status_and_message(result)[1]
    assert ("Retry-After" in result["headers"]) == (status == 503)
    assert json.loads(result["body"])["requestId"] == "e0c0b1a4-5d2f-4b7a-9c3e-0f1a2b3c4d5e"


def test_a_missing_endpoint_is_the_services_fault_not_the_callers(runtime):
    fails(runtime, "ValidationError", f"Endpoint {ENDPOINT} of account 777777777777 not found.")
    assert status_and_message(api.handler(request(), LocalContext()))[0] == 502


def test_no_answer_in_time_is_a_gateway_timeout(runtime, monkeypatch):
    def slow(**_: Any) -> Any:
        raise ReadTimeoutError(endpoint_url="https://runtime.sagemaker.eu-west-1.amazonaws.com")

    class SlowRuntime:
        invoke_endpoint = staticmethod(slow)

    monkeypatch.setattr(api, "runtime", SlowRuntime)
    assert status_and_message(api.handler(request(), LocalContext())) == (504, "the model did not answer in time")
