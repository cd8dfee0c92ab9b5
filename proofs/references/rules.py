"""The AWS rules the references proof rests on, with their sources, and which applies to a reference."""

from __future__ import annotations

from enum import Enum

from proofs.references.collect import Kind, Position, Reference

PROOF = "references"


class Rule(Enum):
    """The AWS rules the proof rests on, with their sources."""

    SSM_PARAMETER_TYPE = (
        "CloudFormation reads the value of an SSM parameter type (AWS::SSM::Parameter::Value<...>) from Parameter "
        "Store of the stack's account and Region when the stack is created or updated, before any of its "
        "resources, and fails if the parameter does not exist (CloudFormation User Guide, 'Specify existing "
        "resources at runtime with CloudFormation-supplied parameter types', "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-supplied-parameter-types.html)"
    )
    DYNAMIC_REFERENCE = (
        "CloudFormation resolves {{resolve:ssm:...}} from the stack's account and Region when it creates the "
        "change set, and fails if the parameter does not exist (CloudFormation User Guide, 'Get values stored in "
        "other services using dynamic references', "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/dynamic-references.html)"
    )
    STACK_OUTPUT = (
        "Fn::GetStackOutput reads an output of another stack (of this account, or of the account of its RoleArn) "
        "when the stack is created or updated: that stack must have been deployed with that output (CloudFormation "
        "Template Reference, 'Fn::GetStackOutput', https://docs.aws.amazon.com/AWSCloudFormation/latest/"
        "TemplateReference/intrinsic-function-reference-getstackoutput.html)"
    )
    EXPORT = (
        "Fn::ImportValue reads an export of a stack of the same account and Region; CloudFormation fails if no "
        "stack exports the name (CloudFormation User Guide, 'Fn::ImportValue', "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html)"
    )
    PRINCIPAL = (
        "IAM resolves every role, user and account a trust policy or resource-based policy names as principal "
        "when the policy is saved, and rejects it if one does not exist (MalformedPolicyDocument: Invalid "
        "principal in policy; IAM User Guide, 'AWS JSON policy elements: Principal', "
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)"
    )
    CREATED_BEFORE = (
        "The service checks what a resource's properties name as CloudFormation creates it: IAM attaches "
        "managed policies and boundaries that exist (NoSuchEntity), services assume the roles they are passed, "
        "CodePipeline validates its artifact buckets (InvalidStructureException), S3 its log bucket; stacks of one "
        "wave deploy in parallel, and resources of one template too unless a Ref, Fn::GetAtt or DependsOn orders "
        "them (CloudFormation User Guide, 'DependsOn attribute', "
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-attribute-dependson.html)"
    )
    LAUNCH_ROLE = (
        "A Service Catalog launch constraint with LocalRoleName launches the product as the role of that name in "
        "the launching account: 'The given role name must exist in the account used to create the launch "
        "constraint and the account of the user who launches a product with this launch constraint' "
        "(CloudFormation, AWS::ServiceCatalog::LaunchRoleConstraint, LocalRoleName, https://docs.aws.amazon.com/"
        "AWSCloudFormation/latest/UserGuide/aws-resource-servicecatalog-launchroleconstraint.html; Service Catalog "
        "Administrator Guide, 'AWS Service Catalog launch constraints')"
    )
    NAMES_NOTHING = (
        "IAM and the services store a name in a policy's Resource or Condition element, or a setting, without "
        "checking it, and it matches nothing until something of that name exists: the grant or setting does not "
        "work (a typo, or a stack that is missing)"
    )
    ACCOUNT = (
        "An account id names one AWS account; the organization's accounts are the config's, AWS's own the ones "
        "proofs.references.known lists. IAM rejects a principal of an account that does not exist (Invalid "
        "principal in policy)"
    )
    HUB_ACCOUNT = (
        "A product's template is launched in the accounts the portfolio is shared with, a StackSet's in every "
        "target account (Service Catalog Administrator Guide, 'Sharing a portfolio'; CloudFormation User Guide, "
        "'StackSets concepts'): the id of the account that publishes it names that account there, not the "
        "account the stack runs in"
    )
    UNDECIDED = "What it names is given at deploy time or launch time, outside the assembly and the config"

    def __str__(self) -> str:
        return str(self.value)


_POSITION_RULES = {
    Position.SSM_PARAMETER_TYPE: Rule.SSM_PARAMETER_TYPE,
    Position.DYNAMIC_REFERENCE: Rule.DYNAMIC_REFERENCE,
    Position.STACK_OUTPUT: Rule.STACK_OUTPUT,
    Position.EXPORT: Rule.EXPORT,
    Position.PRINCIPAL: Rule.PRINCIPAL,
    Position.PROPERTY: Rule.CREATED_BEFORE,
    Position.LAUNCH_ROLE: Rule.LAUNCH_ROLE,
    Position.STORED: Rule.NAMES_NOTHING,
}
_LAUNCH_RULES = {Kind.ROLE: Rule.LAUNCH_ROLE, Kind.PARAMETER: Rule.SSM_PARAMETER_TYPE}


def rule_of(reference: Reference) -> Rule:
    # Of any other ARN only the account is judged: what fails is its account.
    if reference.kind in (Kind.ACCOUNT, Kind.OTHER) and reference.position is not Position.PRINCIPAL:
        return Rule.ACCOUNT
    if reference.position is Position.LAUNCH:
        return _LAUNCH_RULES[reference.kind]
    return _POSITION_RULES[reference.position]
