"""Which guardrail documents the organization gets, built from its config.

Kept free of aws_cdk so the config rules can check SCP limits before synthesis starts;
the organization stack turns the same documents into AWS::Organizations::Policy resources.
"""

from __future__ import annotations

from ml_constructs import service_control_policies as scp
from stacks import naming
from stacks.config.models import Guardrail, OrgConfig


def guardrail_documents(config: OrgConfig) -> dict[Guardrail, scp.PolicyDocument]:
    org = config.organization.name
    exempt = config.landing_zone.deployment_role_patterns
    return {
        Guardrail.PROTECT_BASELINE: scp.protect_baseline(
            trail_name=config.landing_zone.trail.name or naming.trail_name(org),
            flow_log_group=naming.flow_log_group_name(org),
            exempt_roles=exempt,
        ),
        Guardrail.DENY_OTHER_REGIONS: scp.deny_other_regions(
            allowed_regions=config.organization.allowed_regions, exempt_roles=exempt
        ),
        Guardrail.ML_WORKLOADS: scp.ml_workloads(),
        Guardrail.ML_PRODUCTION: scp.ml_production(deployment_roles=exempt),
    }
