"""The runtime flow proofs: every hop of the platform's cross-account ML lifecycle allowed by
everything AWS evaluates for it (identity policies and boundary, resource, key and trust
policies, SCPs) with a network path where a VPC is involved, and every negative denied.

`prove(context)` decides every flow of proofs.flows.lifecycle; `make flows` prints them.
"""

from __future__ import annotations

from proofs.context import ProofContext
from proofs.flows.catalog import Catalog
from proofs.flows.lifecycle import flows
from proofs.flows.model import Flow, HopResult, Judge


def prove(context: ProofContext) -> list[tuple[Flow, list[HopResult]]]:
    judge = Judge(context)
    catalog = Catalog(context, judge)
    return [(flow, [judge.decide(hop) for hop in flow.hops]) for flow in flows(context, catalog)]
