"""What a platform admin or user opens after a deploy: each stack names it in a stack output
(`cdk deploy` prints them, CloudFormation's console lists them), under an id that says what it is."""

from __future__ import annotations

import aws_cdk as cdk
from constructs import Construct


def output_id(*parts: str) -> str:
    """`ApiUrl` + `fraud-detector` -> `ApiUrlFraudDetector`: an output's logical id, which
    CloudFormation allows only letters and digits in."""
    return "".join(word[:1].upper() + word[1:] for part in parts for word in part.replace("_", "-").split("-"))


def publish(scope: Construct, what: str, url: str, *parts: str) -> cdk.CfnOutput:
    return cdk.CfnOutput(scope, output_id(*parts), value=url, description=what)


def codepipeline_console(region: str, pipeline_name: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{pipeline_name}/view?region={region}"
    )


def dashboard_console(region: str, dashboard_name: str) -> str:
    return (
        f"https://{region}.console.aws.amazon.com/cloudwatch/home?region={region}#dashboards/dashboard/{dashboard_name}"
    )
