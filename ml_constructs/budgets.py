"""Monthly cost budgets that alert at 80% and 100% of actual and forecast spend."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_budgets as budgets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.encryption import PurposeKey

BUDGETS = "budgets.amazonaws.com"
ALERT_THRESHOLDS = (80, 100)
"""Percent of the budget at which to alert, for both actual and forecast spend."""


class BudgetAlerts(Construct):
    """An encrypted, TLS-only SNS topic that AWS Budgets may publish to, and the budgets.

    E-mail recipients are subscribed by the budgets themselves (no SNS subscription to
    confirm); other systems subscribe to `topic`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, key: PurposeKey, emails: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        account = cdk.Stack.of(self).account
        self._emails = list(emails)
        only_this_account = {"StringEquals": {"aws:SourceAccount": account}}
        key.allow_service(
            "AllowBudgetsToPublishEncrypted",
            BUDGETS,
            actions=["kms:GenerateDataKey*", "kms:Decrypt"],
            conditions=only_this_account,
        )
        self.topic = sns.Topic(self, "Topic", master_key=key, enforce_ssl=True, display_name="Budget alerts")
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowBudgetsOfThisAccount",
                principals=[iam.ServicePrincipal(BUDGETS)],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions=only_this_account,
            )
        )

    def add_monthly_budget(
        self, construct_id: str, *, name: str, limit_usd: float, cost_filters: Mapping[str, Sequence[str]]
    ) -> budgets.CfnBudget:
        subscribers = [budgets.CfnBudget.SubscriberProperty(subscription_type="SNS", address=self.topic.topic_arn)]
        subscribers += [
            budgets.CfnBudget.SubscriberProperty(subscription_type="EMAIL", address=email) for email in self._emails
        ]
        return budgets.CfnBudget(
            self,
            construct_id,
            budget=budgets.CfnBudget.BudgetDataProperty(
                budget_name=name,
                budget_type="COST",
                time_unit="MONTHLY",
                budget_limit=budgets.CfnBudget.SpendProperty(amount=limit_usd, unit="USD"),
                cost_filters={key: list(values) for key, values in cost_filters.items()},
            ),
            notifications_with_subscribers=[
                budgets.CfnBudget.NotificationWithSubscribersProperty(
                    notification=budgets.CfnBudget.NotificationProperty(
                        notification_type=kind,
                        comparison_operator="GREATER_THAN",
                        threshold=threshold,
                        threshold_type="PERCENTAGE",
                    ),
                    subscribers=subscribers,
                )
                for kind in ("ACTUAL", "FORECASTED")
                for threshold in ALERT_THRESHOLDS
            ],
        )
