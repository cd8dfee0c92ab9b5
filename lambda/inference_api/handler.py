"""Inference API: API Gateway (REST, Lambda proxy) -> this function -> SageMaker InvokeEndpoint.

The function runs in the serving account's VPC and reaches SageMaker's runtime through the
VPC's interface endpoint. It validates each request before spending model time on it and
answers every problem with a 4xx the caller can act on:

- 415: a content type the endpoint does not take (CONTENT_TYPES);
- 400: an empty body, a body that is not valid base64, UTF-8 or (for JSON) JSON, a target model
  on a single-model endpoint or none on a multi-model one (header X-Target-Model);
- 413: a body over MAX_PAYLOAD_BYTES.

Errors of the model or the service map to 400 (the model rejected the input), 502 (the model
failed), 503 with Retry-After (throttled, or the endpoint is not in service) or 504 (no
answer in time). Payloads are never logged. An event that is not an API Gateway request is
logged and answered 400; nothing is invoked for it.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, ReadTimeoutError

logger = Logger()

TARGET_MODEL_HEADER = "x-target-model"
TARGET_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,1023}$")
BUSY = frozenset({"ThrottlingException", "ServiceUnavailable", "ModelNotReadyException"})
# API Gateway waits 29 s for an integration: the model gets most of it, and no second try.
RUNTIME_CONFIG = Config(connect_timeout=2, read_timeout=25, retries={"mode": "standard", "max_attempts": 1})


@dataclass(frozen=True)
class Settings:
    endpoint: str
    max_payload_bytes: int
    content_types: frozenset[str]
    multi_model: bool

    @classmethod
    def from_environment(cls) -> Settings:
        return cls(
            endpoint=os.environ["ENDPOINT_NAME"],
            max_payload_bytes=int(os.environ["MAX_PAYLOAD_BYTES"]),
            content_types=frozenset(os.environ["CONTENT_TYPES"].split(",")),
            multi_model=os.environ.get("MULTI_MODEL") == "true",
        )


class HttpError(Exception):
    """A request answered with `status` and `message` instead of an invocation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class Invocation:
    content_type: str
    body: bytes
    target_model: str | None


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = Settings.from_environment()
    request_id = _request_id(event)
    try:
        invocation = validated(event, settings)
        answer = invoke(settings, invocation)
    except HttpError as refusal:
        logger.info("rejected", extra={"status": refusal.status, "reason": refusal.message, "request": request_id})
        return response(refusal.status, {"message": refusal.message, "requestId": request_id})
    body, content_type = answer
    return {
        "statusCode": 200,
        "headers": {"Content-Type": content_type},
        **_encoded(body),
    }


def validated(event: Any, settings: Settings) -> Invocation:
    """The invocation the request asks for, or the HttpError that says what is wrong with it."""
    if not isinstance(event, dict) or not isinstance(event.get("requestContext"), dict):
        logger.warning("not an API Gateway request", extra={"keys": sorted(event) if isinstance(event, dict) else []})
        raise HttpError(400, "not an API Gateway request")
    headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in settings.content_types:
        raise HttpError(415, f"Content-Type must be one of {', '.join(sorted(settings.content_types))}")
    body = _body(event)
    if not body:
        raise HttpError(400, "the request has no body")
    if len(body) > settings.max_payload_bytes:
        raise HttpError(413, f"the body is {len(body)} bytes; the limit is {settings.max_payload_bytes}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise HttpError(400, "the body is not UTF-8 text") from None
    if content_type == "application/json":
        try:
            json.loads(text)
        except ValueError as error:
            raise HttpError(400, f"the body is not valid JSON: {error}") from None
    return Invocation(content_type, body, _target_model(headers, settings))


def _body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise HttpError(400, "the body is not text")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise HttpError(400, "the body is marked base64 but is not valid base64") from None
    return body.encode("utf-8")


def _target_model(headers: dict[str, str], settings: Settings) -> str | None:
    target = headers.get(TARGET_MODEL_HEADER)
    if not settings.multi_model:
        if target is not None:
            raise HttpError(400, f"{settings.endpoint} hosts one model: send no X-Target-Model")
        return None
    if target is None or not TARGET_MODEL.fullmatch(target):
        raise HttpError(400, "X-Target-Model must name the model archive to invoke, for example segment-a.tar.gz")
    return target


def invoke(settings: Settings, invocation: Invocation) -> tuple[bytes, str]:
    """The endpoint's answer and its content type; AWS errors become Rejections."""
    target = {"TargetModel": invocation.target_model} if invocation.target_model else {}
    try:
        answer = runtime().invoke_endpoint(
            EndpointName=settings.endpoint, ContentType=invocation.content_type, Body=invocation.body, **target
        )
    except ClientError as error:
        raise _rejection(error) from None
    except ReadTimeoutError:
        raise HttpError(504, "the model did not answer in time") from None
    except BotoCoreError as error:
        logger.exception("invocation failed")
        raise HttpError(502, f"the endpoint could not be reached: {type(error).__name__}") from None
    return answer["Body"].read(), str(answer.get("ContentType", "application/octet-stream"))


def _rejection(error: ClientError) -> HttpError:
    details = error.response.get("Error", {})
    code, message = str(details.get("Code", "")), str(details.get("Message", ""))
    if code == "ModelError":
        original = error.response.get("OriginalStatusCode", 500)
        original = original if isinstance(original, int) else 500
        if 400 <= original < 500:
            return HttpError(400, f"the model rejected the request: {error.response.get('OriginalMessage', message)}")
        return HttpError(502, "the model failed to answer")
    if code in BUSY:
        return HttpError(503, "the endpoint is busy or not in service; retry shortly")
    if code == "ValidationError" and "not found" not in message:
        return HttpError(400, message or "SageMaker rejected the request")
    logger.error("SageMaker refused the invocation", extra={"code": code, "reason": message})
    return HttpError(502, "the endpoint could not answer")


def response(status: int, document: dict[str, Any]) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if status == 503:
        headers["Retry-After"] = "1"
    return {"statusCode": status, "headers": headers, "body": json.dumps(document), "isBase64Encoded": False}


def _encoded(body: bytes) -> dict[str, Any]:
    """A text answer as it is; anything else base64-encoded, as API Gateway's proxy format wants."""
    try:
        return {"body": body.decode("utf-8"), "isBase64Encoded": False}
    except UnicodeDecodeError:
        return {"body": base64.b64encode(body).decode("ascii"), "isBase64Encoded": True}


def _request_id(event: Any) -> str | None:
    context = event.get("requestContext") if isinstance(event, dict) else None
    return str(context.get("requestId")) if isinstance(context, dict) and context.get("requestId") else None


@cache
def runtime() -> Any:
    """Built on first use, so a cold start pays for it only when a request gets that far."""
    return boto3.client("sagemaker-runtime", config=RUNTIME_CONFIG)
