"""A SageMaker pipeline from a definition template, and its retraining schedule.

Templates are pipeline definitions written by the sagemaker SDK (ml_pipelines/model_build.py)
with `{{Name}}` placeholders where a model, account or region differs. Filling them here
keeps synth free of the SDK: a placeholder that is a whole string takes any value (a list
placeholder inside a list is spliced into it), one inside a longer string (or a key) takes a string;
values may be CDK tokens. A template placeholder left unfilled, a value the template has no
placeholder for, or a default for a parameter it does not declare is an error, not a silent
gap in a definition SageMaker would reject only at run time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.dead_letters import alarmed_dead_letter_queue
from ml_constructs.roles import role_with_managed_policy

PLACEHOLDER = re.compile(r"\{\{([A-Za-z]+)\}\}")


def placeholders_in(document: Any) -> set[str]:
    return set(PLACEHOLDER.findall(json.dumps(document)))


def fill_placeholders(document: Any, values: Mapping[str, Any]) -> Any:
    """`document` with every `{{Name}}` replaced by `values[Name]`."""
    expected, given = placeholders_in(document), set(values)
    if expected != given:
        raise ValueError(
            f"template placeholders without a value: {sorted(expected - given)}; "
            f"values without a placeholder: {sorted(given - expected)}"
        )

    def fill_string(text: str) -> str:
        return PLACEHOLDER.sub(lambda match: str(values[match.group(1)]), text)

    def fill(node: Any) -> Any:
        if isinstance(node, dict):
            return {fill_string(key): fill(value) for key, value in node.items()}
        if isinstance(node, list):
            filled: list[Any] = []
            for item in node:
                whole = PLACEHOLDER.fullmatch(item) if isinstance(item, str) else None
                value = values[whole.group(1)] if whole else None
                filled.extend(value if isinstance(value, list | tuple) else [fill(item)])
            return filled
        if isinstance(node, str):
            whole = PLACEHOLDER.fullmatch(node)
            if whole:
                return values[whole.group(1)]
            return fill_string(node)
        return node

    return fill(document)


def with_parameter_defaults(definition: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    declared = {parameter["Name"] for parameter in definition["Parameters"]}
    unknown = set(defaults) - declared
    if unknown:
        raise ValueError(f"defaults for parameters the pipeline does not declare: {sorted(unknown)}")
    parameters = [
        {**parameter, "DefaultValue": defaults.get(parameter["Name"], parameter.get("DefaultValue"))}
        for parameter in definition["Parameters"]
    ]
    return {**definition, "Parameters": parameters}


class TemplatedPipeline(Construct):
    """An AWS::SageMaker::Pipeline whose definition is a filled template."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        description: str,
        template: Path,
        values: Mapping[str, Any],
        parameter_defaults: Mapping[str, Any],
        role: iam.IRole,
    ) -> None:
        super().__init__(scope, construct_id)
        definition = with_parameter_defaults(
            fill_placeholders(json.loads(template.read_text()), values), parameter_defaults
        )
        self.definition: dict[str, Any] = definition
        self.pipeline_name = pipeline_name
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            pipeline_description=description,
            role_arn=role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": cdk.Stack.of(self).to_json_string(definition)},
        )
        self.pipeline_arn = cdk.Stack.of(self).format_arn(
            service="sagemaker", resource="pipeline", resource_name=pipeline_name.lower()
        )


class PipelineSchedule(Construct):
    """An EventBridge Scheduler schedule that starts a pipeline with fixed parameters.

    Scheduler retries for a day, then sends the start it could not make to an alarmed,
    encrypted dead-letter queue; the schedule itself is encrypted with `key`.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline: TemplatedPipeline,
        description: str,
        expression: str,
        parameters: Mapping[str, str],
        key: kms.IKey,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        undeclared = set(parameters) - {parameter["Name"] for parameter in pipeline.definition["Parameters"]}
        if undeclared:
            raise ValueError(f"{pipeline.pipeline_name} declares no parameters {sorted(undeclared)}")
        stack = cdk.Stack.of(self)
        dead_letters = alarmed_dead_letter_queue(
            self, key=key, alarm_topic=alarm_topic, description=f"Scheduled starts of {pipeline.pipeline_name}"
        )
        role = role_with_managed_policy(
            self,
            "Role",
            description=f"EventBridge Scheduler starts pipeline {pipeline.pipeline_name}",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            statements=[
                iam.PolicyStatement(actions=["sagemaker:StartPipelineExecution"], resources=[pipeline.pipeline_arn]),
                iam.PolicyStatement(actions=["sqs:SendMessage"], resources=[dead_letters.queue_arn]),
                iam.PolicyStatement(actions=["kms:GenerateDataKey", "kms:Decrypt"], resources=[key.key_arn]),
            ],
        )
        self.schedule = scheduler.CfnSchedule(
            self,
            "Schedule",
            description=description,
            schedule_expression=expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=scheduler.CfnSchedule.FlexibleTimeWindowProperty(mode="OFF"),
            kms_key_arn=key.key_arn,
            target=scheduler.CfnSchedule.TargetProperty(
                arn=pipeline.pipeline_arn,
                role_arn=role.role_arn,
                dead_letter_config=scheduler.CfnSchedule.DeadLetterConfigProperty(arn=dead_letters.queue_arn),
                retry_policy=scheduler.CfnSchedule.RetryPolicyProperty(
                    maximum_event_age_in_seconds=86400, maximum_retry_attempts=10
                ),
                # Without parameters, a run takes the pipeline's defaults.
                sage_maker_pipeline_parameters=scheduler.CfnSchedule.SageMakerPipelineParametersProperty(
                    pipeline_parameter_list=[
                        scheduler.CfnSchedule.SageMakerPipelineParameterProperty(name=name, value=value)
                        for name, value in parameters.items()
                    ]
                )
                if parameters
                else None,
            ),
        )
        self.schedule.node.add_dependency(role)
