"""The management account's landing zone: OUs (created, or adopted by id), member accounts,
guardrail SCPs, the baseline StackSet, budgets and Identity Center access (the trail has its
own stack, deployed after the archive it writes to: stacks.trail_stack; existing accounts are
moved into their OUs by stacks.placement_stack)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.budgets import BudgetAlerts
from ml_constructs.encryption import PurposeKey
from ml_constructs.identity import Assignment, IdentityCenterAccess, persona_permission_sets
from ml_constructs.organization import MemberAccount, OrganizationalUnits, ServiceControlPolicies
from stacks import naming
from stacks.baseline_stackset import BaselineStackSet
from stacks.config import OrgConfig, Role
from stacks.config.models import AccessPersona
from stacks.guardrails import guardrail_documents
from stacks.landing_zone import unit_specs
from stacks.platform_stack import PlatformStack


class OrganizationStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig) -> None:
        org = config.organization.name
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "organization"),
            description="ML platform landing zone: OUs, accounts, guardrails, budgets, access",
            termination_protection=True,
        )
        landing_zone = config.landing_zone
        units = OrganizationalUnits(self, "OrganizationalUnits", root_id=landing_zone.root_id, units=unit_specs(config))
        # Read by later stages of this account: the self-service catalog shares its portfolio with
        # these OUs, the account placement moves the accounts into them.
        published = list(config.self_service.share_to) if config.self_service is not None else []
        if landing_zone.move_accounts:
            published += [ou for _, _, ou in config.member_ous()]
        for key in dict.fromkeys(published):
            ssm.StringParameter(
                self,
                f"OuParameter-{key}",
                parameter_name=naming.ssm_parameter_name(org, "organization", "ou", key),
                string_value=units.ids[key],
                description=f"Id of the organizational unit '{key}'",
            )

        # The accounts this stack creates are named by their id attribute, not the config's id:
        # CloudFormation then creates an account before what names it (an Identity Center
        # assignment, a budget), and on the first deploy, before their ids are in the config,
        # names the accounts it creates.
        self.account_ids = {account.id: account.id for account in config.accounts.values()}
        if landing_zone.create_accounts:
            for name, account in config.accounts.items():
                ou = config.ou_of(account)
                if Role.MANAGEMENT in account.roles or account.email is None:
                    continue
                member = MemberAccount(
                    self,
                    f"Account-{name}",
                    name=f"{org}-{name}",
                    email=account.email,
                    parent_id=landing_zone.root_id if ou is None else units.ids[ou],
                )
                cdk.Tags.of(member).add(naming.ACCOUNT_TAG, name)
                self.account_ids[account.id] = member.account.attr_account_id

        targets: dict[str, list[str]] = {}
        for unit in landing_zone.organizational_units:
            for guardrail in unit.guardrails:
                targets.setdefault(str(guardrail), []).append(units.ids[unit.key])
        ServiceControlPolicies(
            self,
            "Guardrails",
            name_prefix=org,
            documents={str(name): document for name, document in guardrail_documents(config).items()},
            targets=targets,
        )

        stackset = landing_zone.baseline_stackset
        if stackset is not None:
            BaselineStackSet(
                self,
                "BaselineStackSet",
                name=naming.stack_name(org, "baseline"),
                organization=org,
                vpc_cidr=stackset.vpc_cidr,
                availability_zone_count=stackset.availability_zones,
                target_ou_ids=[units.ids[key] for key in stackset.target_ous],
                regions=[config.organization.home_region],
            )

        self._budgets(config)
        if landing_zone.identity_center is not None:
            self._identity_center(config)

    def _budgets(self, config: OrgConfig) -> None:
        org = config.organization.name
        budgeted_accounts = {n: a for n, a in config.accounts.items() if a.monthly_budget_usd is not None}
        budgeted_teams = {n: t for n, t in config.teams.items() if t.monthly_budget_usd is not None}
        if not budgeted_accounts and not budgeted_teams:
            return
        key = PurposeKey(
            self,
            "NotificationsKey",
            alias=naming.key_alias(org, "notifications"),
            description="Budget and platform notifications",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        alerts = BudgetAlerts(self, "BudgetAlerts", key=key, emails=config.landing_zone.budget_alert_emails)
        for name, account in budgeted_accounts.items():
            alerts.add_monthly_budget(
                f"Account-{name}",
                name=f"{org}-account-{name}",
                limit_usd=account.monthly_budget_usd or 0,
                cost_filters={"LinkedAccount": [self.account_ids[account.id]]},
            )
        for name, team in budgeted_teams.items():
            alerts.add_monthly_budget(
                f"Team-{name}",
                name=f"{org}-team-{name}",
                limit_usd=team.monthly_budget_usd or 0,
                # Cost allocation tag platform:team (activate it once in the Billing console).
                cost_filters={"TagKeyValue": [f"user:platform:team${name}"]},
            )

    def _identity_center(self, config: OrgConfig) -> None:
        identity = config.landing_zone.identity_center
        assert identity is not None
        every_account = [account.id for account in config.accounts.values()]
        dev = {config.accounts[team.accounts.dev].id for team in config.teams.values()}
        test_and_prod = {
            config.accounts[name].id
            for team in config.teams.values()
            for name in (team.accounts.test, team.accounts.prod)
        }
        where = {
            AccessPersona.PLATFORM_ADMIN: every_account,
            AccessPersona.AUDITOR: every_account,
            AccessPersona.DATA_SCIENTIST: sorted(dev),
            AccessPersona.ML_ENGINEER: sorted(dev | test_and_prod),
        }
        IdentityCenterAccess(
            self,
            "IdentityCenter",
            instance_arn=identity.instance_arn,
            permission_sets=persona_permission_sets(config.organization.name),
            assignments=[
                Assignment(str(persona), group_id, where[persona]) for persona, group_id in identity.groups.items()
            ],
            target_ids=self.account_ids,
        )
