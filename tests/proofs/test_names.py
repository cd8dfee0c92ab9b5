"""The names proof: two stacks of one name in an account and Region, or two resources of one ARN,
fail; names that differ, or whose scope differs, pass; and the example organization passes."""

from __future__ import annotations

from proofs import names
from proofs.context import ProofContext
from proofs.findings import Verdict
from proofs.preflight import PROOFS
from tests.proofs.assemblies import S, role, template


def test_two_stacks_of_one_name_in_an_account_fail(assemble):
    """Regression: an account that was ml-dev and the Feature Store's got two SelfService stacks
    named <org>-self-service, one from each stage."""
    context = assemble(
        S("MlDevDevelopment", "SelfService", template({"A": role()})),
        S("MlDevBaseline", "SelfService", template({"B": role()})),
    )
    (finding,) = names.prove(context)
    assert finding.verdict is Verdict.FAILS
    assert finding.subject == "MlDevBaseline/SelfService"
    assert "its stack name acme-selfservice is also the name of MlDevDevelopment/SelfService" in finding.problem
    assert "unique in the account and Region" in finding.rule


def test_stacks_of_one_name_in_different_accounts_pass(assemble):
    context = assemble(
        S("MlDevDevelopment", "SelfService", template({"A": role()})),
        S("DataData", "SelfService", template({"B": role()})),
    )
    assert names.prove(context) == []


def test_two_resources_that_name_themselves_alike_in_one_account_fail(assemble):
    """Regression: in a sandbox, the smoke-test function's role and the role it assumes to test
    endpoints were both <org>-smoke-test; an IAM name holds in every Region of the account."""
    context = assemble(
        S("SharedServicesTooling", "Tooling", template({"Function": role("acme-smoke-test")})),
        S("SharedServicesEuCentral1Baseline", "Baseline", template({"Tester": role("acme-smoke-test")})),
    )
    (finding,) = names.prove(context)
    assert finding.subject == "SharedServicesEuCentral1Baseline/Baseline Tester"
    assert "names itself arn:aws:iam::333333333333:role/acme-smoke-test" in finding.problem
    assert "SharedServicesTooling/Tooling Function does too" in finding.problem


def test_resources_of_one_name_in_other_accounts_or_generated_names_pass(assemble):
    context = assemble(
        S("SharedServicesTooling", "Tooling", template({"Function": role("acme-smoke-test"), "A": role()})),
        S("MlTestServing", "Serving", template({"Tester": role("acme-smoke-test"), "A": role()})),
    )
    assert names.prove(context) == []


def test_the_example_organization_names_everything_apart(org):
    assert names.prove(ProofContext.read(org.directory, org.config)) == []


def test_the_proof_is_in_the_preflight():
    assert PROOFS[names.PROOF] is names.prove
