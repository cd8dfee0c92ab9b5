"""The model-build pipeline, defined with the sagemaker SDK (v3); ml_pipelines/generate.py
writes it out as templates.

What differs between models, accounts and regions is left as `{{Placeholder}}` strings that
ml_constructs.pipeline_template fills at synth time; everything a run may vary is a pipeline
parameter. Templates (ml_pipelines/definitions/) model-build-<maximize|minimize>[-tuned].json:
one per metric direction, as the condition step compares the metric to the threshold one way
or the other (and tuning maximizes or minimizes it), without or with a hyperparameter tuning
step in place of the training job, without or with a data-bias check (-bias).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sagemaker.core.clarify import BiasConfig, DataConfig, ModelConfig, ModelPredictedLabelConfig, SHAPConfig
from sagemaker.core.drift_check_baselines import DriftCheckBaselines
from sagemaker.core.model_metrics import FileSource, MetricsSource, ModelMetrics
from sagemaker.core.model_monitor import DatasetFormat
from sagemaker.core.model_monitor.clarify_model_monitoring import ClarifyModelMonitor
from sagemaker.core.network import NetworkConfig
from sagemaker.core.parameter import ContinuousParameter, IntegerParameter
from sagemaker.core.processing import ScriptProcessor
from sagemaker.core.shapes import (
    ProcessingInput,
    ProcessingOutput,
    ProcessingS3Input,
    ProcessingS3Output,
    StoppingCondition,
)
from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join, JsonGet
from sagemaker.core.workflow.parameters import ParameterBoolean, ParameterFloat, ParameterInteger, ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.core.workflow.properties import PropertyFile
from sagemaker.mlops.workflow import clarify_check_step
from sagemaker.mlops.workflow.check_job_config import CheckJobConfig
from sagemaker.mlops.workflow.clarify_check_step import (
    ClarifyCheckStep,
    DataBiasCheckConfig,
    ModelBiasCheckConfig,
    ModelExplainabilityCheckConfig,
)
from sagemaker.mlops.workflow.condition_step import ConditionStep
from sagemaker.mlops.workflow.fail_step import FailStep
from sagemaker.mlops.workflow.model_step import ModelStep
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.quality_check_step import DataQualityCheckConfig, QualityCheckStep
from sagemaker.mlops.workflow.steps import CacheConfig, ProcessingStep, TrainingStep, TuningStep
from sagemaker.serve.model_builder import ModelBuilder
from sagemaker.train import ModelTrainer
from sagemaker.train.configs import CheckpointConfig, Compute, InputData, Networking, OutputDataConfig
from sagemaker.train.tuner import HyperparameterTuner

from ml_pipelines.contract import (
    ANALYSIS_CONFIG_FILE,
    EVALUATION_FILE,
    LABEL_COLUMN,
    MONITORING_CONFIGS,
    SHAP_SAMPLES,
    TUNABLE_HYPERPARAMETERS,
    metric_json_path,
    range_parameter,
    tuning_metric_name,
    tuning_metric_regex,
)
from ml_pipelines.packaging import SERVING_ENVIRONMENT
from ml_pipelines.templates import (
    CACHE_EXPIRY,
    DATA_QUALITY_BASELINE,
    MAX_RUNTIME_SECONDS,
    MAX_WAIT_SECONDS,
    MODEL_OUTPUT,
    RUNS,
    TUNING_OUTPUT,
    placeholder,
    sentinels_to_placeholders,
)

PARAMETER_DEFAULTS: dict[str, Any] = {
    "InputDataUri": "s3://example/input/",
    "ProcessingInstanceType": "ml.m5.large",
    "TrainingInstanceType": "ml.m5.large",
    "MetricThreshold": 0.0,
    "ModelApprovalStatus": "PendingManualApproval",
    "RetrainingReason": "manual",
}
"""Neutral defaults; each model's pipeline gets its own defaults from the platform's config."""
TUNING_STRATEGY_DEFAULT = "Bayesian"
PROBABILITY_SENTINEL = {"BiasProbabilityThreshold": 0.918273645}
"""Clarify's probability threshold must be a number while the SDK builds the model-bias check:
its analysis config is captured with this one, which becomes the placeholder of the model's
threshold (the preprocess step writes the real one)."""
JOB_LIMIT_SENTINELS = {"TuningMaxJobs": 918_273_645, "TuningMaxParallelJobs": 918_273_646}
"""The SDK's shape of a tuning job's resource limits admits only literal integers, neither
pipeline parameters nor placeholders: the definition is generated with these numbers, which
completed() then turns into the {{TuningMaxJobs}} and {{TuningMaxParallelJobs}} placeholders."""
RUN_MODULE = 'mkdir -p /tmp/code && tar -xzf "$0" -C /tmp/code && PYTHONPATH=/tmp/code exec python3 -m "$@"'
"""Processing entry point: the container passes the code archive as $0 and the step's module
and arguments after it (the step scripts import the ml_pipelines package)."""
TRAINING_CODE_DIR = "/opt/ml/input/data/code"


@contextmanager
def _clarify_uploads_captured(location: Any) -> Iterator[dict[str, Any]]:
    """While a ClarifyCheckStep is built, the SDK uploads its analysis config to S3, and the
    analysis config of the monitoring schedule that would watch the endpoint for the same
    drift, at paths with a generated name: offline generation can do neither. Inside this
    context both are captured instead (yielded as `check` and `monitoring`, to check that the
    preprocess step writes the same) and the step reads its config from `location`, where
    the preprocess step writes it at run time."""
    captured: dict[str, Any] = {}

    def capture_check(path: str, *_: Any) -> Any:
        captured["check"] = json.loads(Path(path).read_text())
        return location

    def capture_monitoring(_monitor: Any, analysis_config: dict[str, Any], *_: Any) -> str:
        captured["monitoring"] = analysis_config
        return "s3://unused/monitoring-config.json"

    uploads = (clarify_check_step._upload_analysis_config, ClarifyModelMonitor._upload_analysis_config)
    clarify_check_step._upload_analysis_config = capture_check
    ClarifyModelMonitor._upload_analysis_config = capture_monitoring
    try:
        yield captured
    finally:
        clarify_check_step._upload_analysis_config, ClarifyModelMonitor._upload_analysis_config = uploads


def build(direction: str, tuned: bool, bias: bool = False) -> tuple[Any, dict[str, Any] | None]:
    """The pipeline whose condition keeps models whose metric is at least (maximize) or at
    most (minimize) the threshold; `tuned`: a tuning step instead of one training job;
    `bias`: a data-bias check of the training data. Also the data-bias check's analysis config
    as the SDK writes it (None without the check)."""

    session = PipelineSession(default_bucket=placeholder("ArtifactBucket"))
    parameters = {
        "InputDataUri": ParameterString("InputDataUri", PARAMETER_DEFAULTS["InputDataUri"]),
        "ProcessingInstanceType": ParameterString(
            "ProcessingInstanceType", PARAMETER_DEFAULTS["ProcessingInstanceType"]
        ),
        "TrainingInstanceType": ParameterString("TrainingInstanceType", PARAMETER_DEFAULTS["TrainingInstanceType"]),
        "MetricThreshold": ParameterFloat("MetricThreshold", PARAMETER_DEFAULTS["MetricThreshold"]),
        "ModelApprovalStatus": ParameterString("ModelApprovalStatus", PARAMETER_DEFAULTS["ModelApprovalStatus"]),
        "RetrainingReason": ParameterString("RetrainingReason", PARAMETER_DEFAULTS["RetrainingReason"]),
        "SkipDriftChecks": ParameterBoolean(name="SkipDriftChecks", default_value=True),
        "RegisterNewBaselines": ParameterBoolean(name="RegisterNewBaselines", default_value=True),
    }
    tuning: dict[str, Any] = {"TuningStrategy": ParameterString("TuningStrategy", TUNING_STRATEGY_DEFAULT)}
    for name, (kind, lowest, highest) in TUNABLE_HYPERPARAMETERS.items():
        for bound, value in (("Min", lowest), ("Max", highest)):
            parameter = range_parameter(name, bound)
            tuning[parameter] = (
                ParameterInteger(parameter, int(value)) if kind == "Integer" else ParameterFloat(parameter, value)
            )
    if tuned:
        parameters.update(tuning)
    key = placeholder("KmsKeyArn")
    # ARN-shaped: the SDK looks up by name (an AWS call) any role that is not an ARN.
    role = f"arn:{placeholder('Partition')}:iam::{placeholder('AccountId')}:role/{placeholder('JobRoleName')}"
    model = placeholder("ModelName")
    code_archive = f"s3://{placeholder('CodeBucket')}/{placeholder('CodeArchiveFile')}"
    cache = CacheConfig(enable_caching=True, expire_after=CACHE_EXPIRY)

    def run_prefix(*parts: str) -> Any:
        """A location of this execution's own, so no run overwrites another's outputs."""
        return Join(
            on="/",
            values=[
                "s3:/",
                placeholder("ArtifactBucket"),
                model,
                RUNS,
                ExecutionVariables.PIPELINE_EXECUTION_ID,
                *parts,
            ],
        )

    def network() -> Any:
        return NetworkConfig(
            enable_network_isolation=True,
            subnets=[placeholder("SubnetIds")],
            security_group_ids=[placeholder("SecurityGroupIds")],
            encrypt_inter_container_traffic=True,
        )

    def processor(name: str) -> Any:
        return ScriptProcessor(
            image_uri=placeholder("ProcessingImage"),
            command=["/bin/sh", "-c", RUN_MODULE],
            instance_type=parameters["ProcessingInstanceType"],
            instance_count=1,
            role=role,
            base_job_name=f"{model}-{name}",
            volume_kms_key=key,
            output_kms_key=key,
            network_config=network(),
            sagemaker_session=session,
        )

    def check_job(name: str) -> CheckJobConfig:
        return CheckJobConfig(
            role=role,
            instance_count=1,
            instance_type=parameters["ProcessingInstanceType"],
            volume_kms_key=key,
            output_kms_key=key,
            base_job_name=f"{model}-{name}",
            sagemaker_session=session,
        )

    def output(name: str, local_path: str) -> Any:
        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(s3_uri=run_prefix(name), local_path=local_path, s3_upload_mode="EndOfJob"),
        )

    preprocess = ProcessingStep(
        name="Preprocess",
        display_name="Split the input into train, validation and test",
        step_args=processor("preprocess").run(
            inputs=[
                ProcessingInput(
                    input_name="input",
                    s3_input=ProcessingS3Input(
                        s3_uri=parameters["InputDataUri"],
                        local_path="/opt/ml/processing/input/data",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
            ],
            outputs=[
                output(split, f"/opt/ml/processing/{split}")
                for split in ("train", "validation", "test", "baseline", *(["clarify"] if bias else []))
            ],
            code=code_archive,
            arguments=[
                "ml_pipelines.steps.preprocess",
                "--input",
                "/opt/ml/processing/input/data",
                *(
                    [
                        "--bias-facet",
                        placeholder("BiasFacet"),
                        "--bias-facet-values",
                        placeholder("BiasFacetValues"),
                        "--bias-label-values",
                        placeholder("BiasLabelValues"),
                        "--bias-probability-threshold",
                        placeholder("BiasProbabilityThreshold"),
                        "--shadow-instance-type",
                        parameters["ProcessingInstanceType"],
                    ]
                    if bias
                    else []
                ),
            ],
        ),
        cache_config=cache,
    )
    split_uri = preprocess.properties.ProcessingOutputConfig.Outputs

    # Model Monitor's analyzer computes the data-quality baseline (statistics and constraints)
    # of the training data, which the package registers as its drift-check baseline: the
    # endpoint that serves the package compares captured requests with it (its deployment
    # passes the registered URIs). In this run's own prefix, so no later run, approved or not,
    # changes what a deployed package registered.
    # SkipDriftChecks=false also compares it with the latest approved package's baseline and
    # fails the run on violations (off by default: retraining on drifted data is the point).
    data_quality = QualityCheckStep(
        name="DataQualityCheck",
        display_name="Baseline statistics and constraints for Model Monitor",
        quality_check_config=DataQualityCheckConfig(
            baseline_dataset=split_uri["baseline"].S3Output.S3Uri,
            dataset_format=DatasetFormat.csv(header=False),
            output_s3_uri=run_prefix(DATA_QUALITY_BASELINE),
        ),
        check_job_config=check_job("baseline"),
        skip_check=parameters["SkipDriftChecks"],
        register_new_baseline=parameters["RegisterNewBaselines"],
        model_package_group_name=placeholder("ModelPackageGroupName"),
        cache_config=cache,
    )
    checks = (
        _ClarifyChecks(
            split_uri=split_uri, run_prefix=run_prefix, check_job=check_job, parameters=parameters, cache=cache
        )
        if bias
        else None
    )
    data_bias = checks.data_bias() if checks else None

    channels = [
        # Network isolation keeps the container from fetching its own code: it arrives as a channel.
        InputData(channel_name="code", data_source=code_archive),
        InputData(channel_name="train", data_source=split_uri["train"].S3Output.S3Uri, content_type="text/csv"),
        InputData(
            channel_name="validation",
            data_source=split_uri["validation"].S3Output.S3Uri,
            content_type="text/csv",
        ),
    ]

    def trainer(output_path: Any, checkpoints: bool) -> ModelTrainer:
        return ModelTrainer(
            training_image=placeholder("TrainingImage"),
            role=role,
            base_job_name=f"{model}-train",
            compute=Compute(
                instance_type=parameters["TrainingInstanceType"],
                instance_count=1,
                volume_size_in_gb=30,
                volume_kms_key_id=key,
                enable_managed_spot_training=True,
            ),
            networking=Networking(
                subnets=[placeholder("SubnetIds")],
                security_group_ids=[placeholder("SecurityGroupIds")],
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=True,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=MAX_RUNTIME_SECONDS,
                max_wait_time_in_seconds=MAX_WAIT_SECONDS,
            ),
            # SageMaker restores this prefix into every job that names it: one of the execution's
            # own, so only a spot restart of this run's job resumes, never a later run.
            checkpoint_config=CheckpointConfig(s3_uri=run_prefix("checkpoints"), local_path="/opt/ml/checkpoints")
            if checkpoints
            else None,
            output_data_config=OutputDataConfig(s3_output_path=output_path, kms_key_id=key),
            # The tuner takes the channels as its inputs instead.
            input_data_config=None if tuned else channels,
            # Script mode of SageMaker's scikit-learn container.
            hyperparameters={
                "sagemaker_program": "ml_pipelines/steps/train.py",
                "sagemaker_submit_directory": f"{TRAINING_CODE_DIR}/{placeholder('CodeArchiveFile')}",
            },
            environment={"PYTHONPATH": "/opt/ml/code"},
            sagemaker_session=session,
        )

    fit: Any
    if tuned:
        # Parallel jobs of one tuning run would share a checkpoint location: none, and a spot
        # interruption restarts that one job. Each job writes below its own (generated) name.
        tuning_prefix = f"{model}/{TUNING_OUTPUT}"
        tuner = HyperparameterTuner(
            model_trainer=trainer(Join(on="/", values=["s3:/", placeholder("ArtifactBucket"), tuning_prefix]), False),
            objective_metric_name=tuning_metric_name(placeholder("MetricName")),
            metric_definitions=[
                {
                    "Name": tuning_metric_name(placeholder("MetricName")),
                    "Regex": tuning_metric_regex(placeholder("MetricName")),
                }
            ],
            hyperparameter_ranges={
                name: (IntegerParameter if kind == "Integer" else ContinuousParameter)(
                    tuning[range_parameter(name, "Min")], tuning[range_parameter(name, "Max")]
                )
                for name, (kind, _, _) in TUNABLE_HYPERPARAMETERS.items()
            },
            strategy=tuning["TuningStrategy"],
            objective_type=direction.capitalize(),
            max_jobs=JOB_LIMIT_SENTINELS["TuningMaxJobs"],
            max_parallel_jobs=JOB_LIMIT_SENTINELS["TuningMaxParallelJobs"],
            base_tuning_job_name=f"{model}-tune",
        )
        fit = TuningStep(
            name="Tune",
            display_name="Search hyperparameters on managed spot capacity",
            step_args=tuner.tune(inputs=channels),
            cache_config=cache,
        )
        # The best job's model: evaluated, and registered if it meets the threshold.
        model_artifacts = fit.get_top_model_s3_uri(
            top_k=0, s3_bucket=placeholder("ArtifactBucket"), prefix=tuning_prefix
        )
    else:
        fit = TrainingStep(
            name="Train",
            display_name="Fit the model on managed spot capacity",
            step_args=trainer(run_prefix(MODEL_OUTPUT), True).train(),
            cache_config=cache,
        )
        model_artifacts = fit.properties.ModelArtifacts.S3ModelArtifacts

    evaluation = PropertyFile(name="Evaluation", output_name="evaluation", path=EVALUATION_FILE)
    evaluate = ProcessingStep(
        name="Evaluate",
        display_name="Score the model on the held-out test split",
        step_args=processor("evaluate").run(
            inputs=[
                ProcessingInput(
                    input_name="model",
                    s3_input=ProcessingS3Input(
                        s3_uri=model_artifacts,
                        local_path="/opt/ml/processing/model",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
                ProcessingInput(
                    input_name="test",
                    s3_input=ProcessingS3Input(
                        s3_uri=split_uri["test"].S3Output.S3Uri,
                        local_path="/opt/ml/processing/test",
                        s3_data_type="S3Prefix",
                        s3_input_mode="File",
                    ),
                ),
            ],
            outputs=[output("evaluation", "/opt/ml/processing/evaluation")],
            code=code_archive,
            arguments=["ml_pipelines.steps.evaluate", "--metric", placeholder("MetricName")],
        ),
        property_files=[evaluation],
        cache_config=cache,
    )
    metric = JsonGet(
        step_name=evaluate.name, property_file=evaluation, json_path=metric_json_path(placeholder("MetricName"))
    )
    evaluation_uri = Join(
        on="/",
        values=[
            evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri,
            EVALUATION_FILE,
        ],
    )

    def model_builder(network: Networking | None) -> ModelBuilder:
        return ModelBuilder(
            s3_model_data_url=model_artifacts,
            image_uri=placeholder("TrainingImage"),
            # The train step packs the inference code into the model archive (network isolation
            # keeps a serving container from fetching code); nothing to upload here.
            dependencies={},
            env_vars=dict(SERVING_ENVIRONMENT),
            sagemaker_session=session,
            role_arn=role,
            network=network,
        )

    model_checks: list[Any] = []
    if checks:
        # Post-training checks call the candidate model: Clarify serves it from a shadow
        # endpoint of its own for the length of the job, in the VPC like every endpoint.
        candidate = ModelStep(
            name="CandidateModel",
            display_name="The candidate model, for Clarify's shadow endpoints",
            step_args=model_builder(
                Networking(
                    subnets=[placeholder("SubnetIds")],
                    security_group_ids=[placeholder("SecurityGroupIds")],
                    enable_network_isolation=True,
                )
            ).build(),
        )
        model_checks = [candidate, *checks.model_checks(candidate.properties.ModelName)]
    register = ModelStep(
        name="Register",
        display_name="Register the model package for review",
        step_args=model_builder(None).register(
            model_package_group_name=placeholder("ModelPackageGroupName"),
            content_types=["text/csv"],
            response_types=["text/csv"],
            inference_instances=["ml.m5.large", "ml.m5.xlarge", "ml.c5.large", "ml.c5.xlarge"],
            transform_instances=["ml.m5.large", "ml.m5.xlarge"],
            approval_status=parameters["ModelApprovalStatus"],
            model_metrics=ModelMetrics(
                model_statistics=MetricsSource(s3_uri=evaluation_uri, content_type="application/json"),
                **(checks.reports() if checks else {}),
                model_data_statistics=MetricsSource(
                    s3_uri=data_quality.properties.CalculatedBaselineStatistics, content_type="application/json"
                ),
                model_data_constraints=MetricsSource(
                    s3_uri=data_quality.properties.CalculatedBaselineConstraints, content_type="application/json"
                ),
            ),
            # What the next run's checks compare with once this package is approved.
            drift_check_baselines=DriftCheckBaselines(
                model_data_statistics=MetricsSource(
                    s3_uri=data_quality.properties.BaselineUsedForDriftCheckStatistics,
                    content_type="application/json",
                ),
                model_data_constraints=MetricsSource(
                    s3_uri=data_quality.properties.BaselineUsedForDriftCheckConstraints,
                    content_type="application/json",
                ),
                **(checks.drift_check_baselines() if checks else {}),
            ),
            # The approval function reads the metric from here (lambda/model_approval).
            customer_metadata_properties={
                placeholder("MetricName"): Join(on="", values=[metric]),
                "RetrainingReason": parameters["RetrainingReason"],
            },
            description="Registered by the model-build pipeline",
        ),
    )
    compare = ConditionGreaterThanOrEqualTo if direction == "maximize" else ConditionLessThanOrEqualTo
    fail = FailStep(
        name="MetricMissesThreshold",
        error_message=Join(
            on=" ",
            values=[
                placeholder("MetricName"),
                metric,
                "misses the threshold" if direction == "maximize" else "exceeds the threshold",
                parameters["MetricThreshold"],
            ],
        ),
    )
    gate = ConditionStep(
        name="MetricMeetsThreshold",
        conditions=[compare(left=metric, right=parameters["MetricThreshold"])],
        if_steps=[register],
        else_steps=[fail],
    )
    pipeline = Pipeline(
        name=f"{model}-build",
        parameters=list(parameters.values()),
        steps=[preprocess, data_quality, *([data_bias] if data_bias else []), fit, *model_checks, evaluate, gate],
        sagemaker_session=session,
    )
    return pipeline, checks.analysis_configs if checks else None


def _bias_config() -> BiasConfig:
    """The sensitive feature and favourable labels the model's config names."""
    return BiasConfig(
        label_values_or_threshold=[placeholder("BiasLabelValues")],
        facet_name=placeholder("BiasFacet"),
        facet_values_or_threshold=[placeholder("BiasFacetValues")],
    )


class _ClarifyChecks:
    """Clarify's checks of a model with a bias check, each registered with the package as a
    report and as the drift-check baseline the next run compares with (SkipDriftChecks=false
    fails a run that is worse than the latest approved package):

    - DataBiasCheck: pre-training bias of the training split (calls no model);
    - ModelBiasCheck: post-training bias of the candidate's predictions on the test split;
    - ModelExplainabilityCheck: SHAP feature attributions of the candidate on the test split.

    Each reads the analysis config the preprocess step writes to its clarify output, which is
    what the SDK would have uploaded (`analysis_configs`, kept as a reference); the same output
    holds the configs of the endpoint's bias and feature-attribution monitoring, which the
    package registers as its drift-check config files.
    """

    def __init__(
        self,
        *,
        split_uri: Any,
        run_prefix: Callable[..., Any],
        check_job: Callable[[str], CheckJobConfig],
        parameters: dict[str, Any],
        cache: CacheConfig,
    ) -> None:
        self._split_uri, self._run_prefix, self._check_job = split_uri, run_prefix, check_job
        self._parameters, self._cache = parameters, cache
        self._steps: dict[str, Any] = {}
        self.analysis_configs: dict[str, Any] = {}

    def _config_uri(self, check: str) -> Any:
        """Where the preprocess step writes a check's analysis config."""
        return Join(on="/", values=[self._split_uri["clarify"].S3Output.S3Uri, check, ANALYSIS_CONFIG_FILE])

    def _data(self, check: str) -> DataConfig:
        return DataConfig(
            # The model checks score the held-out test split, as the evaluate step does.
            s3_data_input_path=self._split_uri["train" if check == "data-bias" else "test"].S3Output.S3Uri,
            s3_output_path=self._run_prefix(check),
            # Never written: the analysis config's upload is captured.
            s3_analysis_config_output_path="s3://unused/analysis-config",
            label=LABEL_COLUMN,
            dataset_type="text/csv",
        )

    def _step(self, check: str, name: str, display_name: str, config: Any) -> Any:
        with _clarify_uploads_captured(self._config_uri(check)) as captured:
            step = ClarifyCheckStep(
                name=name,
                display_name=display_name,
                clarify_check_config=config,
                check_job_config=self._check_job(check),
                skip_check=self._parameters["SkipDriftChecks"],
                register_new_baseline=self._parameters["RegisterNewBaselines"],
                model_package_group_name=placeholder("ModelPackageGroupName"),
                cache_config=self._cache,
            )
        self._steps[check] = step
        self.analysis_configs[check] = sentinels_to_placeholders(captured["check"], PROBABILITY_SENTINEL)
        if check != "data-bias":
            self.analysis_configs[f"monitoring-{MONITORING_CONFIGS[check]}"] = captured["monitoring"]
        return step

    def data_bias(self) -> Any:
        return self._step(
            "data-bias",
            "DataBiasCheck",
            "Pre-training bias of the training data",
            DataBiasCheckConfig(data_config=self._data("data-bias"), data_bias_config=_bias_config()),
        )

    def model_checks(self, model_name: Any) -> list[Any]:
        model = ModelConfig(
            model_name=model_name,
            instance_count=1,
            instance_type=placeholder("ShadowInstanceType"),
            accept_type="text/csv",
            content_type="text/csv",
        )
        return [
            self._step(
                "model-bias",
                "ModelBiasCheck",
                "Post-training bias of the candidate's predictions",
                ModelBiasCheckConfig(
                    data_config=self._data("model-bias"),
                    data_bias_config=_bias_config(),
                    model_config=model,
                    # The model answers with the positive class's probability.
                    model_predicted_label_config=ModelPredictedLabelConfig(
                        probability_threshold=PROBABILITY_SENTINEL["BiasProbabilityThreshold"]
                    ),
                ),
            ),
            self._step(
                "explainability",
                "ModelExplainabilityCheck",
                "SHAP feature attributions of the candidate",
                ModelExplainabilityCheckConfig(
                    data_config=self._data("explainability"),
                    model_config=model,
                    explainability_config=SHAPConfig(
                        baseline=[[placeholder("ShapBaseline")]],
                        num_samples=SHAP_SAMPLES,
                        agg_method="mean_abs",
                        save_local_shap_values=False,
                    ),
                ),
            ),
        ]

    def _results(self, check: str) -> Any:
        return Join(on="/", values=[self._run_prefix(check), "analysis.json"])

    def reports(self) -> dict[str, MetricsSource]:
        """The package's bias and explainability reports (ModelMetrics)."""
        reports = {
            "bias_pre_training": "data-bias",
            "bias_post_training": "model-bias",
            "explainability": "explainability",
        }
        return {
            field: MetricsSource(
                s3_uri=Join(on="/", values=[self._run_prefix(check), "analysis.json"]), content_type="application/json"
            )
            for field, check in reports.items()
        }

    def drift_check_baselines(self) -> dict[str, Any]:
        """The package's Clarify drift-check baselines (DriftCheckBaselines): the constraints
        each check calculated or kept, and the analysis configs a monitoring schedule of the
        deployed package runs with (this run's copies)."""
        constraints = {
            "bias_pre_training_constraints": "data-bias",
            "bias_post_training_constraints": "model-bias",
            "explainability_constraints": "explainability",
        }
        baselines: dict[str, Any] = {
            field: MetricsSource(
                s3_uri=self._steps[check].properties.BaselineUsedForDriftCheckConstraints,
                content_type="application/json",
            )
            for field, check in constraints.items()
        }
        for field, check in (("bias_config_file", "model-bias"), ("explainability_config_file", "explainability")):
            config = self._config_uri(f"monitoring-{MONITORING_CONFIGS[check]}")
            baselines[field] = FileSource(s3_uri=config, content_type="application/json")
        return baselines


CHECK_IMAGES = {"QualityCheck": "MonitorImage", "ClarifyCheck": "ClarifyImage"}
CHECKS_CALLING_MODELS = ("MODEL_BIAS", "MODEL_EXPLAINABILITY")
"""Clarify checks that create a shadow endpoint and invoke it: they call the SageMaker APIs
(through the VPC's interface endpoints), so they cannot run network-isolated."""


def _network(isolated: bool) -> dict[str, Any]:
    """The network of a processing job (what NetworkConfig of the SDK's processors writes)."""
    return {
        "EnableNetworkIsolation": isolated,
        "EnableInterContainerTrafficEncryption": True,
        "VpcConfig": {"Subnets": [placeholder("SubnetIds")], "SecurityGroupIds": [placeholder("SecurityGroupIds")]},
    }


def completed(definition: dict[str, Any]) -> dict[str, Any]:
    """The SDK's definition with what the SDK cannot express put in.

    - The tuner builds its training job definition from the trainer's image, roles, channels,
      instance and VPC only: the volume key, network isolation and encryption between
      instances, which every training job of the platform has, are added here, from the
      same placeholders as the training step's.
    - The check steps' job requests leave out the network (the SDK puts the NetworkConfig
      object itself in the request, which does not serialize) and take their images from
      the SDK's region: both are set here, the images as Model Monitor's and Clarify's of
      the pipeline's region. Checks that call no model run isolated; the model checks
      cannot (CHECKS_CALLING_MODELS).
    - The job limits get their placeholders (JOB_LIMIT_SENTINELS).
    """
    for step in definition["Steps"]:
        if step["Type"] in CHECK_IMAGES:
            arguments = step["Arguments"]
            arguments["AppSpecification"]["ImageUri"] = placeholder(CHECK_IMAGES[step["Type"]])
            arguments["NetworkConfig"] = _network(isolated=step.get("CheckType") not in CHECKS_CALLING_MODELS)
        if step["Type"] == "Tuning":
            job = step["Arguments"]["TrainingJobDefinition"]
            job["ResourceConfig"]["VolumeKmsKeyId"] = placeholder("KmsKeyArn")
            job["EnableNetworkIsolation"] = True
            job["EnableInterContainerTrafficEncryption"] = True
    filled: dict[str, Any] = sentinels_to_placeholders(definition, JOB_LIMIT_SENTINELS)
    return filled
