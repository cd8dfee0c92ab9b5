"""Catalog setup: CloudFormation custom resources for what Service Catalog and SageMaker offer
no resource type for.

- Custom::PortfolioOrganizationShare (management account): shares a portfolio with
  organizational units and member accounts through AWS Organizations, principal names and tag
  options included, after enabling Service Catalog's Organizations access (CloudFormation's
  own portfolio share shares with accounts but never their principal names). Update shares
  with new nodes, updates the kept ones and unshares the dropped ones; Delete unshares. Each
  share is waited for until Service Catalog reports it complete.
- Custom::SageMakerProjects (ml-dev accounts): enables SageMaker Projects in the account.
  Delete leaves it enabled: projects people created meanwhile depend on it.
- Custom::ProjectTemplate (ml-dev accounts): publishes a project template as a SageMaker
  S3-based template: copies it from the CDK asset bucket into the templates bucket, tagged
  sagemaker:studio-visibility=true. Delete removes it.

Every step is safe to repeat: sharing again updates, unsharing what is gone counts as done.
A request that is not a well-formed custom resource event is logged and ignored: without
its ResponseURL there is nobody to answer.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import CloudFormationCustomResourceEvent
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config
from botocore.exceptions import ClientError

logger = Logger()

PORTFOLIO_SHARE = "Custom::PortfolioOrganizationShare"
SAGEMAKER_PROJECTS = "Custom::SageMakerProjects"
PROJECT_TEMPLATE = "Custom::ProjectTemplate"
STUDIO_VISIBLE = "sagemaker:studio-visibility=true"
RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
POLL_SECONDS = 5
SAFETY_MARGIN_MS = 30_000
"""Time kept in hand to answer CloudFormation before the function itself times out."""
SHARE_DONE = frozenset({"COMPLETED", "COMPLETED_WITH_ERRORS", "ERROR"})
_ACCOUNT = re.compile(r"\d{12}")


class SetupError(Exception):
    """The request cannot be carried out; CloudFormation is told why."""


@dataclass(frozen=True)
class OrganizationShare:
    portfolio_id: str
    units: frozenset[str]
    """Organization nodes: OU ids (`ou-...`) and member account ids (12 digits)."""

    @classmethod
    def from_properties(cls, properties: dict[str, Any]) -> OrganizationShare:
        portfolio_id = properties.get("PortfolioId")
        units = properties.get("OrganizationalUnitIds", [])
        accounts = properties.get("AccountIds", [])
        if not isinstance(portfolio_id, str) or not portfolio_id.startswith("port-"):
            raise SetupError(f"PortfolioId must be a portfolio id, got {portfolio_id!r}")
        if not isinstance(units, list) or not all(isinstance(u, str) and u.startswith("ou-") for u in units):
            raise SetupError(f"OrganizationalUnitIds must be a list of OU ids, got {units!r}")
        if not isinstance(accounts, list) or not all(isinstance(a, str) and _ACCOUNT.fullmatch(a) for a in accounts):
            raise SetupError(f"AccountIds must be a list of account ids, got {accounts!r}")
        if not units and not accounts:
            raise SetupError("OrganizationalUnitIds and AccountIds name no organization node to share with")
        return cls(portfolio_id, frozenset(units) | frozenset(accounts))


@dataclass(frozen=True)
class ProjectTemplate:
    source_bucket: str
    source_key: str
    bucket: str
    key: str

    @classmethod
    def from_properties(cls, properties: dict[str, Any]) -> ProjectTemplate:
        values = [properties.get(name) for name in ("SourceBucket", "SourceKey", "Bucket", "Key")]
        if not all(isinstance(value, str) and value for value in values):
            raise SetupError(f"SourceBucket, SourceKey, Bucket and Key are required, got {properties!r}")
        return cls(*(str(value) for value in values))


def handler(event: dict[str, Any], context: LambdaContext) -> None:
    try:
        request = CloudFormationCustomResourceEvent(event)
        response_url, request_type, resource_type = request.response_url, request.request_type, request.resource_type
    except (KeyError, TypeError, AttributeError):
        logger.warning("ignored: not a CloudFormation custom resource event", extra={"event_keys": _keys(event)})
        return
    physical_id = request.physical_resource_id or f"catalog-setup-{request.logical_resource_id}"
    deadline = time.monotonic() + (context.get_remaining_time_in_millis() - SAFETY_MARGIN_MS) / 1000
    try:
        if resource_type == PORTFOLIO_SHARE:
            share = OrganizationShare.from_properties(dict(request.resource_properties or {}))
            old = request.old_resource_properties
            previous = OrganizationShare.from_properties(dict(old)) if request_type == "Update" and old else None
            reconcile_shares(boto3.client("servicecatalog", config=RETRIES), request_type, share, previous, deadline)
        elif resource_type == PROJECT_TEMPLATE:
            template = ProjectTemplate.from_properties(dict(request.resource_properties or {}))
            publish_template(boto3.client("s3", config=RETRIES), request_type, template)
        elif resource_type == SAGEMAKER_PROJECTS:
            if request_type != "Delete":
                boto3.client("sagemaker", config=RETRIES).enable_sagemaker_servicecatalog_portfolio()
        else:
            raise SetupError(f"unknown resource type {resource_type}")
        respond(response_url, request, physical_id, "SUCCESS", f"{request_type} done")
    except (SetupError, ClientError) as error:
        logger.exception("catalog setup failed")
        respond(response_url, request, physical_id, "FAILED", str(error)[:900])


def reconcile_shares(
    catalog: Any, request_type: str, share: OrganizationShare, previous: OrganizationShare | None, deadline: float
) -> None:
    if request_type == "Delete":
        for unit in sorted(share.units):
            _unshare(catalog, share.portfolio_id, unit, deadline)
        return
    catalog.enable_aws_organizations_access()
    if previous is not None and previous.portfolio_id != share.portfolio_id:
        for unit in sorted(previous.units):
            _unshare(catalog, previous.portfolio_id, unit, deadline)
    elif previous is not None:
        for unit in sorted(previous.units - share.units):
            _unshare(catalog, share.portfolio_id, unit, deadline)
    for unit in sorted(share.units):
        _share(catalog, share.portfolio_id, unit, deadline)


def publish_template(s3: Any, request_type: str, template: ProjectTemplate) -> None:
    """Copy the template into place with the tag Studio lists templates by, or remove it."""
    if request_type == "Delete":
        s3.delete_object(Bucket=template.bucket, Key=template.key)  # deleting what is gone succeeds
        return
    s3.copy_object(
        CopySource={"Bucket": template.source_bucket, "Key": template.source_key},
        Bucket=template.bucket,
        Key=template.key,
        Tagging=STUDIO_VISIBLE,
        TaggingDirective="REPLACE",
        MetadataDirective="REPLACE",
        ContentType="application/json",
    )
    logger.info("template published", extra={"bucket": template.bucket, "key": template.key})


def _node(unit: str) -> dict[str, str]:
    return {"Type": "ACCOUNT" if _ACCOUNT.fullmatch(unit) else "ORGANIZATIONAL_UNIT", "Value": unit}


def _share(catalog: Any, portfolio_id: str, unit: str, deadline: float) -> None:
    settings = {"PortfolioId": portfolio_id, "OrganizationNode": _node(unit), "SharePrincipals": True}
    try:
        token = catalog.create_portfolio_share(**settings, ShareTagOptions=True)["PortfolioShareToken"]
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("DuplicateResourceException", "InvalidStateException"):
            raise
        token = catalog.update_portfolio_share(**settings, ShareTagOptions=True).get("PortfolioShareToken")
    logger.info("sharing", extra={"portfolio": portfolio_id, "unit": unit})
    if token:
        _wait(catalog, token, deadline)


def _unshare(catalog: Any, portfolio_id: str, unit: str, deadline: float) -> None:
    try:
        token = catalog.delete_portfolio_share(PortfolioId=portfolio_id, OrganizationNode=_node(unit))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
        return
    logger.info("unsharing", extra={"portfolio": portfolio_id, "unit": unit})
    if token.get("PortfolioShareToken"):
        _wait(catalog, token["PortfolioShareToken"], deadline)


def _wait(catalog: Any, token: str, deadline: float) -> None:
    while True:
        status = catalog.describe_portfolio_share_status(PortfolioShareToken=token)
        if status["Status"] in SHARE_DONE:
            if status["Status"] != "COMPLETED":
                raise SetupError(f"share {token} ended {status['Status']}: {status.get('ShareDetails', {})}")
            return
        if time.monotonic() + POLL_SECONDS > deadline:
            raise SetupError(f"share {token} still {status['Status']}; deploy again to finish it")
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
