"""One CloudWatch dashboard of every endpoint in an account: a row of graphs per endpoint.

Invocations, p50/p99 model latency, 4XX and 5XX errors, and instance counts per variant.
SageMaker publishes no instance-count metric; Invocations / InvocationsPerInstance is the
number of instances that served the traffic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

NAMESPACE = "AWS/SageMaker"
WIDTH = 6


@dataclass(frozen=True)
class EndpointPanel:
    endpoint_name: str
    variants: Sequence[str]


class ServingDashboard(Construct):
    def __init__(
        self, scope: Construct, construct_id: str, *, dashboard_name: str, panels: Sequence[EndpointPanel]
    ) -> None:
        super().__init__(scope, construct_id)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            default_interval=cdk.Duration.hours(3),
            period_override=cloudwatch.PeriodOverride.AUTO,
        )
        for panel in panels:
            self.dashboard.add_widgets(
                cloudwatch.TextWidget(markdown=f"## {panel.endpoint_name}", width=24, height=1),
            )
            self.dashboard.add_widgets(*self._row(panel))

    @staticmethod
    def _metric(panel: EndpointPanel, variant: str, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=NAMESPACE,
            metric_name=name,
            dimensions_map={"EndpointName": panel.endpoint_name, "VariantName": variant},
            statistic=statistic,
            period=cdk.Duration.minutes(1),
            label=f"{variant} {name} {statistic}",
        )

    def _row(self, panel: EndpointPanel) -> list[cloudwatch.IWidget]:
        variants = list(panel.variants)
        instances = [
            cloudwatch.MathExpression(
                # Ids are per variant: one graph may not use an id for two metrics.
                expression=f"invocations{index} / MAX([per_instance{index}, 1])",
                using_metrics={
                    f"invocations{index}": self._metric(panel, variant, "Invocations", "Sum"),
                    f"per_instance{index}": self._metric(panel, variant, "InvocationsPerInstance", "Sum"),
                },
                label=f"{variant} instances",
                period=cdk.Duration.minutes(1),
            )
            for index, variant in enumerate(variants)
        ]
        return [
            cloudwatch.GraphWidget(
                title="Invocations",
                width=WIDTH,
                left=[self._metric(panel, variant, "Invocations", "Sum") for variant in variants],
            ),
            cloudwatch.GraphWidget(
                title="Model latency (microseconds)",
                width=WIDTH,
                left=[
                    self._metric(panel, variant, "ModelLatency", statistic)
                    for variant in variants
                    for statistic in ("p50", "p99")
                ],
            ),
            cloudwatch.GraphWidget(
                title="Errors",
                width=WIDTH,
                left=[
                    self._metric(panel, variant, f"Invocation{kind}Errors", "Sum")
                    for variant in variants
                    for kind in ("4XX", "5XX")
                ],
            ),
            cloudwatch.GraphWidget(title="Instances", width=WIDTH, left=instances),
        ]
