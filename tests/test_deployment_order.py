"""The deployment order: every synthesized stage is planned, and dependencies deploy first."""

from __future__ import annotations

from stacks.config import load_config
from stacks.deployment_order import planned_stages, platform_stages
from tests.conftest import EXAMPLE_CONFIG, ROOT
from tools import deploy_commands


def test_the_plan_names_exactly_the_stages_synthesis_builds(org):
    assert [planned.stage_id for planned in planned_stages(org.config)] == list(org.stages)


def test_dependencies_deploy_in_earlier_waves(example_config):
    wave = {planned.stage_id: planned.wave for planned in planned_stages(example_config)}
    baselines = [stage for stage in wave if stage.endswith("Baseline")]
    # The organization stack may create the accounts every baseline deploys into.
    assert all(wave["ManagementOrganization"] < wave[stage] for stage in baselines)
    # Role stacks read their account's baseline through SSM parameters.
    for stage in ("LogArchiveArchive", "SharedServicesTooling", "DataData", "MlDevDevelopment", "ManagementTrail"):
        assert wave[stage] > max(wave[b] for b in baselines)
    # The trail is created against its archive bucket and key.
    assert wave["ManagementTrail"] > wave["LogArchiveArchive"]
    # The platform pipeline's artifact stores in the recovery regions are the tooling's
    # replication buckets; a recovery region's serving attaches a policy to the model execution
    # role of the primary region's (proofs.references finds both when they deploy in parallel).
    assert wave["SharedServicesToolchain"] > wave["SharedServicesTooling"]
    assert wave["MlProdEuCentral1Serving"] > wave["MlProdServing"]


def test_deploy_commands_print_one_parallel_command_per_wave(capsys):
    assert deploy_commands.main(["deploy_commands", str(EXAMPLE_CONFIG)]) == 0
    lines = capsys.readouterr().out.splitlines()
    commands = [line for line in lines if line.startswith("npx cdk deploy")]
    deployers = [line for line in lines if line.startswith("# wave")]
    assert len(commands) == 7
    assert commands[0] == (
        f"npx cdk deploy -c config={EXAMPLE_CONFIG} --require-approval never --concurrency 1 'ManagementOrganization/*'"
    )
    assert "with credentials of the management account" in deployers[0]
    # The management account's baseline, with its own credentials; then six accounts and the
    # production and shared-services accounts in the recovery region, from shared-services.
    assert commands[1].endswith("--concurrency 1 'ManagementBaseline/*'")
    assert "'MlProdBaseline/*'" in commands[2] and "--concurrency 8" in commands[2]
    assert "with credentials of the shared-services account" in deployers[2]
    assert commands[5].endswith("'ManagementTrail/*'")
    assert commands[6].endswith("'MlProdEuCentral1Serving/*' 'SharedServicesToolchain/*'")


def test_without_a_feature_store_the_data_account_gets_only_its_baseline(example_config):
    config = example_config.model_copy(update={"feature_store": None})
    stages = [planned.stage_id for planned in planned_stages(config)]
    assert "DataBaseline" in stages
    assert "DataData" not in stages


def test_endpoints_deploy_after_serving_and_tooling_and_only_through_the_model_pipelines(example_config, capsys):
    wave = {planned.stage_id: planned.wave for planned in planned_stages(example_config)}
    for account in ("MlTest", "MlProd"):
        assert wave[f"{account}Endpoints"] > max(wave[f"{account}Serving"], wave["SharedServicesTooling"])
    platform = {planned.stage_id for planned in platform_stages(example_config)}
    assert platform == set(wave) - {"MlTestEndpoints", "MlProdEndpoints", "MlProdEuCentral1Endpoints"}
    assert deploy_commands.main(["deploy_commands", str(EXAMPLE_CONFIG)]) == 0
    output = capsys.readouterr().out
    assert "Endpoints/*" not in output
    assert "each model's deployment pipeline deploys them" in output


def test_accounts_that_serve_no_endpoint_or_batch_job_get_no_serving_stages(example_config):
    config = example_config.model_copy(update={"endpoints": ()})
    assert [s for s in planned_stages(config) if s.purpose == "Serving"], "batch jobs alone need serving"
    config = config.model_copy(update={"batch_inference": ()})
    stages = [planned.stage_id for planned in planned_stages(config)]
    assert not [stage for stage in stages if stage.endswith(("Serving", "Endpoints"))]


def test_an_account_of_several_roles_plans_each_stage_once():
    """Regression (issue #26): an account with ml-test and ml-prod got two Serving and two
    Endpoints stages, and synth died with "There is already a Construct with name 'ProdServing'"."""
    config = load_config(ROOT / "tests" / "layouts" / "three-accounts.yaml")
    stages = [planned.stage_id for planned in planned_stages(config)]
    assert sorted(stage for stage in stages if stage.startswith("Prod")) == [
        "ProdBaseline",
        "ProdEndpoints",
        "ProdEuCentral1Baseline",
        "ProdEuCentral1Endpoints",
        "ProdEuCentral1Serving",
        "ProdServing",
    ]
    assert len(stages) == len(set(stages))
