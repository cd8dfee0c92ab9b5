"""Account placement: the provider of `Custom::AccountPlacement` in the management account.

An organization the platform adopts has its member accounts already; the guardrails apply to
an account only once it is in the OU they are attached to (stacks.placement_stack). CDK's
custom resource provider framework invokes this function and answers CloudFormation with what
it returns, or with the error it raises.

- Create and Update: asks Organizations for the account's parent (ListParents); if it is not
  `ParentId`, moves the account there from that parent (MoveAccount). An account already in
  place is left alone, so a retried or repeated request changes nothing. The physical id is the
  account id: another account in an update is a new resource, and the old one's delete leaves
  that account where it is.
- Delete: leaves the account where it is. Moving an account changes which SCPs apply to it;
  that is never the side effect of removing a stack.

Malformed properties fail the request with the reason; so does an Organizations error (an
account that is not in the organization, an OU that does not exist), with its message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import boto3
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

logger = Logger()

RETRIES = Config(retries={"mode": "standard", "max_attempts": 8})
"""Organizations throttles its API per organization; throttled calls are retried with backoff."""
ACCOUNT_ID = re.compile(r"^\d{12}$")
PARENT_ID = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
"""Organizations' patterns for a root or OU id (MoveAccount, DestinationParentId)."""


class PlacementError(Exception):
    """The request cannot be carried out; CloudFormation is told why."""


@dataclass(frozen=True)
class Placement:
    account_id: str
    parent_id: str

    @classmethod
    def from_properties(cls, properties: Any) -> Placement:
        if not isinstance(properties, dict):
            raise PlacementError("no resource properties")
        account_id, parent_id = properties.get("AccountId"), properties.get("ParentId")
        if not isinstance(account_id, str) or not ACCOUNT_ID.match(account_id):
            raise PlacementError(f"AccountId must be a 12-digit account id, got {account_id!r}")
        if not isinstance(parent_id, str) or not PARENT_ID.match(parent_id):
            raise PlacementError(f"ParentId must be the id of a root or an OU, got {parent_id!r}")
        return cls(account_id, parent_id)


def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request_type = event.get("RequestType") if isinstance(event, dict) else None
    if request_type == "Delete":
        logger.info("delete: the account stays where it is", extra={"physical_id": event.get("PhysicalResourceId")})
        return {"PhysicalResourceId": event.get("PhysicalResourceId")}
    if request_type not in ("Create", "Update"):
        raise PlacementError(f"not a custom resource request: RequestType {request_type!r}")
    placement = Placement.from_properties(event.get("ResourceProperties"))
    place(boto3.client("organizations", config=RETRIES), placement)
    return {"PhysicalResourceId": placement.account_id}


def place(organizations: Any, placement: Placement) -> None:
    """Move the account into its parent unless it is there already."""
    parents = organizations.list_parents(ChildId=placement.account_id)["Parents"]
    if len(parents) != 1:
        raise PlacementError(f"account {placement.account_id} has {len(parents)} parents in Organizations, not one")
    current: str = parents[0]["Id"]
    if current == placement.parent_id:
        logger.info("already in place", extra={"account": placement.account_id, "parent": current})
        return
    organizations.move_account(
        AccountId=placement.account_id, SourceParentId=current, DestinationParentId=placement.parent_id
    )
    logger.info("moved", extra={"account": placement.account_id, "from": current, "to": placement.parent_id})
