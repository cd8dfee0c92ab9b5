"""The deploy preflight: may each account's deploy role create, update and delete what its
templates declare, do its references resolve, does its network path exist, does a new account
have the quotas it needs, and what of the organization (adopted OUs and trail, accounts in
place) the SCPs it applies rest on. Every proof reads the cloud assembly and the config only.
"""

from __future__ import annotations

from collections.abc import Callable

from proofs import names, network, organization, quotas, references
from proofs.context import ProofContext
from proofs.deploy import actions, escalation, launches, permissions
from proofs.findings import Finding

Proof = Callable[[ProofContext], list[Finding]]

PROOFS: dict[str, Proof] = {
    permissions.PROOF: permissions.prove,
    escalation.PROOF: escalation.prove,
    actions.PROOF: actions.prove,
    launches.PROOF: launches.prove,
    references.PROOF: references.prove,
    names.PROOF: names.prove,
    "network": network.prove,
    quotas.PROOF: quotas.check,
    organization.PROOF: organization.prove,
}
"""The preflight's proofs by name, in the order they run."""


def run(context: ProofContext, names: list[str] | None = None) -> list[Finding]:
    return [finding for name, proof in PROOFS.items() if names is None or name in names for finding in proof(context)]
