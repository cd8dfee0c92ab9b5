"""The project's one IAM policy evaluator: AWS's documented evaluation logic, offline.

Given a request (action, resource, principal, condition keys) and the policies that apply to
it (the principal's identity-based policies and permissions boundary, the SCPs on the path to
its account, the resource's resource-based, key or trust policy), `evaluate` says whether AWS
would allow it and why: which statement allowed or explicitly denied, or which layer implicitly
denied, and which condition keys the request did not supply. Pure Python, no AWS calls; each
rule cites the AWS documentation page it implements (see the modules).

    role = Principal.role(role_arn)
    decision = evaluate(Request("s3:GetObject", object_arn, role, {**principal_context(role), **keys}),
                        identity_policies=policies, resource_policy=ResourcePolicy("bucket", bucket_policy),
                        resource_account=bucket_account)
    assert decision.allowed, decision.explain()

Modules: patterns (wildcards), context (condition keys, policy variables), conditions
(operators), principals (who, and what a Principal element grants), policy (documents and
statements), evaluation (the decision).
"""

from proofs.iam.context import ContextValue, PolicyError
from proofs.iam.evaluation import (
    FULL_AWS_ACCESS,
    Decision,
    ImplicitDeny,
    Layer,
    Request,
    ScpLevel,
    ServiceControlPolicies,
    UnsuppliedKey,
    applicable_statements,
    evaluate,
)
from proofs.iam.policy import (
    Effect,
    Policy,
    PolicyDocument,
    ResourcePolicy,
    ResourcePolicyKind,
    Statement,
    StatementRef,
    could_allow,
    could_apply,
    parse_statements,
)
from proofs.iam.principals import (
    GrantScope,
    Principal,
    PrincipalElement,
    PrincipalKind,
    canonical_aws_principal,
    principal_account,
    principal_context,
    root_arn,
)

__all__ = [
    "FULL_AWS_ACCESS",
    "ContextValue",
    "Decision",
    "Effect",
    "GrantScope",
    "ImplicitDeny",
    "Layer",
    "Policy",
    "PolicyDocument",
    "PolicyError",
    "Principal",
    "PrincipalElement",
    "PrincipalKind",
    "Request",
    "ResourcePolicy",
    "ResourcePolicyKind",
    "ScpLevel",
    "ServiceControlPolicies",
    "Statement",
    "StatementRef",
    "UnsuppliedKey",
    "applicable_statements",
    "canonical_aws_principal",
    "could_allow",
    "could_apply",
    "evaluate",
    "parse_statements",
    "principal_account",
    "principal_context",
    "root_arn",
]
