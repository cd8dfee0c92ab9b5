"""ARNs written with pseudo parameters (partition, region, account).

Policies built this way read the same in every account, so a reviewer (and a cdk-nag
acknowledgement) sees one statement, not one per account id.
"""

from __future__ import annotations

import aws_cdk as cdk


def in_this_account(service: str, resource: str) -> str:
    return f"arn:{cdk.Aws.PARTITION}:{service}:{cdk.Aws.REGION}:{cdk.Aws.ACCOUNT_ID}:{resource}"
