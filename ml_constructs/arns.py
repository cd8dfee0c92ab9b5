"""ARNs written with pseudo parameters (partition, region, account).

Policies built this way read the same in every account, so a reviewer (and a cdk-nag
acknowledgement) sees one statement, not one per account id.
"""

from __future__ import annotations

import aws_cdk as cdk

# The pseudo parameters' tokens are constants: read once, as each read crosses to jsii's Node process.
PARTITION, REGION, ACCOUNT_ID = cdk.Aws.PARTITION, cdk.Aws.REGION, cdk.Aws.ACCOUNT_ID


def in_this_account(service: str, resource: str) -> str:
    return f"arn:{PARTITION}:{service}:{REGION}:{ACCOUNT_ID}:{resource}"
