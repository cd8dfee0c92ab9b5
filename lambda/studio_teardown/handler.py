"""Studio teardown: a CloudFormation custom resource that clears a Studio domain for deletion.

CloudFormation cannot delete a space or user profile while it has apps running, nor a
domain while it has spaces or profiles. Stacks that hold Studio resources depend on this
resource, so CloudFormation deletes it first; on Delete it:

- scope "members": deletes the apps of the stack's own user profiles and spaces;
- scope "domain": deletes every app of the domain, then the spaces and user profiles that
  people created outside CloudFormation (every one not listed as managed).

Create and Update do nothing. Deleting what is already gone counts as done, so a repeated
delivery is harmless. A request that is not a well-formed custom resource event is
logged and ignored: without its ResponseURL there is nobody to answer.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()

GONE = frozenset({"Deleted", "Deleting"})
POLL_SECONDS = 10
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
"""Throttling and transient errors are retried with backoff inside the invocation."""
SAFETY_MARGIN_MS = 30_000
"""Time kept in hand to answer CloudFormation before the function itself times out."""


@dataclass(frozen=True)
class Teardown:
    domain_id: str
    scope: str
    user_profiles: frozenset[str]
    spaces: frozenset[str]

    @classmethod
    def from_properties(cls, properties: dict[str, Any]) -> Teardown:
        scope = properties.get("Scope")
        domain_id = properties.get("DomainId")
        if scope not in ("members", "domain") or not isinstance(domain_id, str) or not domain_id:
            raise ValueError(f"DomainId and Scope (members or domain) are required, got {properties!r}")
        return cls(
            domain_id=domain_id,
            scope=scope,
            user_profiles=frozenset(properties.get("UserProfiles", [])),
            spaces=frozenset(properties.get("Spaces", [])),
        )

    def owns(self, app: dict[str, Any]) -> bool:
        if self.scope == "domain":
            return True
        return app.get("UserProfileName") in self.user_profiles or app.get("SpaceName") in self.spaces


class OutOfTimeError(Exception):
    pass


def handler(event: dict[str, Any], context: LambdaContext) -> None:
    try:
        request = CloudFormationCustomResourceEvent(event)
        response_url = request.response_url
        request_type = request.request_type
    except (KeyError, TypeError, AttributeError):
        logger.warning("ignored: not a CloudFormation custom resource event", extra={"event_keys": _keys(event)})
        return
    physical_id = request.physical_resource_id or f"studio-teardown-{request.logical_resource_id}"
    try:
        teardown = Teardown.from_properties(dict(request.resource_properties or {}))
        if request_type == "Delete":
            deadline = time.monotonic() + (context.get_remaining_time_in_millis() - SAFETY_MARGIN_MS) / 1000
            clear(boto3.client("sagemaker", config=RETRIES), teardown, deadline)
        respond(response_url, request, physical_id, "SUCCESS", f"{request_type} done")
    except (ValueError, ClientError, OutOfTimeError) as error:
        logger.exception("teardown failed")
        respond(response_url, request, physical_id, "FAILED", str(error)[:900])


def clear(sagemaker: Any, teardown: Teardown, deadline: float) -> None:
    """Delete what `teardown` covers and wait until it is gone, or raise OutOfTimeError."""
    # Each listing is read in full before anything is deleted from it.
    for app in _apps(sagemaker, teardown):
        if app.get("Status") not in GONE:
            _delete_app(sagemaker, teardown.domain_id, app)
    # A space cannot go while its app is still Deleting: wait for Deleted.
    _wait_until(lambda: not _apps(sagemaker, teardown), deadline, "apps")
    if teardown.scope != "domain":
        return
    spaces = list(_pages(sagemaker.list_spaces, "Spaces", DomainIdEquals=teardown.domain_id))
    for space in spaces:
        if space["SpaceName"] not in teardown.spaces and space.get("Status") not in GONE:
            _ignore_missing(sagemaker.delete_space, DomainId=teardown.domain_id, SpaceName=space["SpaceName"])
    _wait_until(lambda: not _unmanaged_spaces(sagemaker, teardown), deadline, "spaces")
    profiles = list(_pages(sagemaker.list_user_profiles, "UserProfiles", DomainIdEquals=teardown.domain_id))
    for profile in profiles:
        name = profile["UserProfileName"]
        if name not in teardown.user_profiles and profile.get("Status") not in GONE:
            _ignore_missing(sagemaker.delete_user_profile, DomainId=teardown.domain_id, UserProfileName=name)


def _apps(sagemaker: Any, teardown: Teardown) -> list[dict[str, Any]]:
    """The apps `teardown` covers that are not yet Deleted."""
    apps = _pages(sagemaker.list_apps, "Apps", DomainIdEquals=teardown.domain_id)
    return [app for app in apps if app.get("Status") != "Deleted" and teardown.owns(app)]


def _unmanaged_spaces(sagemaker: Any, teardown: Teardown) -> list[str]:
    return [
        space["SpaceName"]
        for space in _pages(sagemaker.list_spaces, "Spaces", DomainIdEquals=teardown.domain_id)
        if space["SpaceName"] not in teardown.spaces and space.get("Status") != "Deleted"
    ]


def _delete_app(sagemaker: Any, domain_id: str, app: dict[str, Any]) -> None:
    owner = {"SpaceName": app["SpaceName"]} if app.get("SpaceName") else {"UserProfileName": app["UserProfileName"]}
    logger.info("deleting app", extra={"app": app["AppName"], "type": app["AppType"], **owner})
    _ignore_missing(sagemaker.delete_app, DomainId=domain_id, AppType=app["AppType"], AppName=app["AppName"], **owner)


def _ignore_missing(call: Callable[..., Any], **arguments: Any) -> None:
    try:
        call(**arguments)
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFound":
            raise


def _pages(call: Callable[..., dict[str, Any]], key: str, **arguments: Any) -> Iterator[dict[str, Any]]:
    token: str | None = None
    while True:
        page = call(**arguments, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


def _wait_until(done: Callable[[], bool], deadline: float, what: str) -> None:
    while not done():
        if time.monotonic() + POLL_SECONDS > deadline:
            raise OutOfTimeError(f"Studio {what} still being deleted; delete the stack again once they are gone")
        time.sleep(POLL_SECONDS)


def respond(url: str, request: CloudFormationCustomResourceEvent, physical_id: str, status: str, reason: str) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason,
            "PhysicalResourceId": physical_id,
            "StackId": request.stack_id,
            "RequestId": request.request_id,
            "LogicalResourceId": request.logical_resource_id,
        }
    ).encode()
    put = urllib.request.Request(url, data=body, method="PUT", headers={"Content-Type": ""})
    with urllib.request.urlopen(put, timeout=30) as answer:
        logger.info("answered CloudFormation", extra={"status": status, "http_status": answer.status})


def _keys(event: Any) -> list[str]:
    return sorted(event) if isinstance(event, dict) else [type(event).__name__]
