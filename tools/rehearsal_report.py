"""The local rehearsal's report: what each step did, in which account, and what the emulator
could not show there, with the place in moto's source that shows why.

The limits name moto's functions (moto 5.2); the offline proofs decide what moto does not
evaluate: `make flows` each flow's identity, resource, key and trust policies and SCPs, the
deploy preflight (`make preflight`) execution roles, capabilities, references, network paths
and quotas.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from tools.emulator import Adaptation


class RehearsalError(Exception):
    """A step did not complete; the report says which and why."""


@dataclass(frozen=True)
class Limit:
    """Something the emulator cannot show, why (moto's source), and what stands for it."""

    not_shown: str
    source: str
    instead: str


BUS_IN_CALLER_ACCOUNT = Limit(
    "a PutEvents to another account's bus",
    "moto/events/models.py: EventsBackend._normalize_event_bus_arn keeps only the name of a bus ARN, "
    "and _get_event_bus looks that name up in the caller's account",
    "a bus of that name in the sender's account records the event (stand-in); the rehearsal relays it",
)
CROSS_ACCOUNT_DELIVERY = Limit(
    "EventBridge's delivery to another account",
    "moto/events/models.py: Rule.send_to_targets puts an event for a bus target again in the target's account "
    "with only its source, detail-type and detail (the account and id become the receiver's, the resources go), "
    "and raises NotImplementedError for a Lambda target",
    "the rehearsal hands the event, as the sender's bus has it, to the receiving account's rule and function",
)
NO_ACCOUNT_FIELD = Limit(
    "the account field of an event a rule delivers",
    "moto/events/utils.py: EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE, the shape moto delivers events to "
    "targets in, has no account",
    "the relayed event carries the account the rehearsal put it from, as EventBridge's events do",
)
NO_AUTHORIZATION = Limit(
    "IAM: identity policies and permissions boundaries, SCPs, the bus and key policies, the forwarding role's trust",
    "moto/settings.py: INITIAL_NO_AUTH_ACTION_COUNT is infinite unless set, so moto authorizes every request; "
    "moto/organizations/models.py stores SCPs and applies none; its CloudFormation skips AWS::Events::EventBusPolicy",
    "make flows (python -m tools.flows) evaluates these hops offline; the rehearsal records their verdicts",
)
NO_ALARM_EVENTS = Limit(
    "CloudWatch sending an alarm's state change to EventBridge",
    "moto/cloudwatch/models.py: set_alarm_state only records the state (Alarm.update_state); "
    "no event is emitted and no alarm action runs",
    "the rehearsal builds the event CloudWatch documents from the alarm's state in the emulator",
)
NO_PIPELINE_RUN = Limit(
    "the deployment pipeline's stages (Synth, Test and smoke test, Approve, Production, Promote)",
    "moto/codepipeline/models.py: PipelineExecution is 'Succeeded' as soon as it starts; no action runs",
    "the rehearsal deploys the stack of the pipeline's production action itself, with the action's "
    "ParameterOverrides resolved from the execution's variables",
)
NO_REQUEST_TOKEN = Limit(
    "a repeated start with the same client request token starting nothing new",
    "moto/codepipeline/responses.py: start_pipeline_execution passes only the name and variables to the backend; "
    "clientRequestToken is ignored",
    "the rehearsal checks that every start of the event carried the event id as its token",
)
NO_EXECUTION_FILTER = Limit(
    "the champion lookup of a later deployment (executions that succeeded in Promote)",
    "moto/codepipeline/responses.py: list_pipeline_executions ignores the filter (succeededInStage), "
    "and every execution is Succeeded at once",
    "only the first deployment is rehearsed: no execution yet, so the package is its own champion",
)
NO_PARAMETER_CONSTRAINTS = Limit(
    "CloudFormation refusing a parameter outside its AllowedPattern",
    "moto/cloudformation: parameters are taken as given (AllowedPattern is never read)",
    "the rehearsal checks each parameter it passes against the template's pattern",
)

# What no single step shows: the emulator neither enforces nor runs it anywhere.
NO_EXECUTION_ROLE = Limit(
    "CloudFormation deploying as the bootstrap's execution role, within the platform's execution policies "
    "and permissions boundary",
    "moto/cloudformation/models.py: Stack keeps the RoleARN it is given and creates every resource itself, "
    "for a caller moto authorizes whatever it asks",
    "the deploy preflight's deploy-permissions and no-escalation proofs decide each create, update and delete "
    "offline; the rehearsal records their verdicts on the rehearsed accounts",
)
NO_CAPABILITIES = Limit(
    "CloudFormation refusing a template whose IAM resources or macros the deploy did not acknowledge "
    "(InsufficientCapabilities), as the deployment pipeline's actions deploy it",
    "moto/cloudformation/responses.py: create_stack and create_change_set never read Capabilities",
    "the deploy preflight's deploy-actions proof checks the capabilities each pipeline action grants against "
    "its template; the rehearsal records its verdict",
)
NO_REFERENCE_CHECKS = Limit(
    "AWS refusing a declaration that names what does not exist where and when it is needed (a pipeline "
    "action's project, a role, key or bucket in another account)",
    "moto/codepipeline/models.py: create_pipeline looks up the pipeline's role and nothing its actions name; "
    "the stand-ins that read what the emulator could not create were accepted",
    "the deploy preflight's references proof checks that everything a template names exists where and when "
    "AWS needs it; the rehearsal records its verdict",
)
NO_NETWORK = Limit(
    "the network path: subnets, routes, security groups, VPC endpoints and their policies",
    "moto/ec2 records VPCs, security groups and endpoints and routes nothing through them: every request, "
    "from the CLI or a handler, reaches the server on 127.0.0.1",
    "the deploy preflight's network proof (and the flow proofs' network checks); the rehearsal records its verdict",
)
NO_QUOTAS = Limit(
    "service quotas (SageMaker instances, Lambda concurrency in a new account) and CloudFormation's limits",
    "moto/servicequotas/models.py only lists AWS's default values, and nothing in moto checks a request "
    "against them; moto/cloudformation limits no stack's resources, outputs or template size",
    "the deploy preflight's quotas proof (`make quotas` prints the increases to request); the rehearsal "
    "records its verdict",
)
NO_LAMBDA_RUNTIME = Limit(
    "the functions running in Lambda: their package and layers, runtime, memory, timeout, VPC attachment, "
    "concurrency and retries",
    "moto/awslambda/models.py: LambdaFunction._invoke_lambda runs the code in a Docker container, and the "
    "rehearsal has no Docker",
    "each handler runs in the rehearsal's process with its deployed function's environment, against the emulator; "
    "tests/lambda_fns test the handlers",
)
NO_SAGEMAKER_RUNS = Limit(
    "SageMaker running anything: the build pipeline's steps (processing, training, Clarify checks, "
    "registration), the endpoint's instances serving the model, Model Monitor's schedules",
    "moto/sagemaker/models.py: a FakePipelineExecution is 'Succeeded' and a FakeEndpoint 'InService' as soon as "
    "they are created, and no job runs; moto's CloudFormation skips monitoring schedules and job definitions",
    "the package carries the baselines' paths a build registers; tests/ml_pipelines run the build's steps locally",
)


@dataclass
class Step:
    outcome: str
    """ok; stand-in (created or recorded differently for the emulator); relayed (carried between
    accounts by the rehearsal); not-shown (the emulator cannot show it); failed."""
    title: str
    detail: str
    account: str
    """The account the step acted in (its name), or "" for the rehearsal itself."""
    limit: Limit | None = None


@dataclass
class DeployedStack:
    account: str
    path: str
    stack_name: str
    status: str
    created: int
    skipped_types: dict[str, int]
    """Types moto's CloudFormation does not implement: accepted, nothing created."""


@dataclass
class LeftOut:
    path: str
    stack_name: str
    missing: list[str]
    """What it reads that the emulator could not create."""


@dataclass
class NotDeployed:
    path: str
    stack_name: str
    reason: str


@dataclass
class Report:
    accounts: dict[str, str]
    """The rehearsed accounts: name -> id."""
    stages: list[str]
    steps: list[Step] = field(default_factory=list)
    stacks: list[DeployedStack] = field(default_factory=list)
    left_out: list[LeftOut] = field(default_factory=list)
    not_deployed: list[NotDeployed] = field(default_factory=list)
    adaptations: list[Adaptation] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase."""
    acting_as: str = ""
    """The account the next steps act in (not reported: each step names its own)."""

    def record(self, outcome: str, title: str, detail: str = "", limit: Limit | None = None) -> None:
        self.steps.append(Step(outcome, title, detail, self.acting_as, limit))
        where = f"{self.acting_as}: " if self.acting_as else ""
        print(f"[{outcome}] {where}{title}" + (f": {detail}" if detail else ""), flush=True)
        if limit is not None:
            print(f"      the emulator cannot show {limit.not_shown}; instead {limit.instead}", flush=True)

    @property
    def completed(self) -> bool:
        return bool(self.steps) and all(step.outcome != "failed" for step in self.steps)

    def as_json(self) -> dict[str, Any]:
        document = asdict(self)
        del document["acting_as"]
        return document


def print_summary(report: Report) -> None:
    print("\nWhat the emulator did not do (this was not a deployment to AWS):")
    skipped: Counter[str] = Counter()
    for stack in report.stacks:
        skipped.update(stack.skipped_types)
    for resource_type, count in sorted(skipped.items()):
        print(f"  skipped by moto's CloudFormation: {resource_type} x{count}")
    for left_out in report.left_out:
        print(f"  not deployed: {left_out.path}: it reads {len(left_out.missing)} outputs the emulator lacks")
    for not_deployed in report.not_deployed:
        print(f"  not deployed: {not_deployed.path}: {not_deployed.reason}")
    changed: Counter[tuple[str, str]] = Counter((a.change, a.reason) for a in report.adaptations)
    for (change, reason), count in sorted(changed.items()):
        print(f"  changed for the emulator: {change} x{count} ({reason})")
    print("  stacks deployed with `cdk deploy --method direct`: moto's change sets lose stack outputs")
    limits = list(dict.fromkeys(step.limit for step in report.steps if step.limit is not None))
    if limits:
        print("\nWhat the emulator could not show, and what stood for it:")
    for limit in limits:
        print(f"  {limit.not_shown}\n      why: {limit.source}\n      instead: {limit.instead}")
    created = sum(stack.created for stack in report.stacks)
    accounts = ", ".join(f"{name} ({account})" for name, account in report.accounts.items())
    print(
        f"\n{len(report.stacks)} stacks in {len(report.accounts)} accounts ({accounts}), "
        f"{created} resources created in the emulator, {skipped.total()} skipped."
    )
    if report.timings:
        print("Seconds: " + ", ".join(f"{phase} {seconds:.0f}" for phase, seconds in report.timings.items()))
    print("Rehearsal " + ("completed." if report.completed else "FAILED."))
