"""Large teams and many feature groups spread over stacks under CloudFormation's limits,
without moving what already exists."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from stacks.composition import build
from stacks.config import parse_config
from stacks.config.models import Metric, Model
from stacks.sharding import jump_hash, model_build_shards, shard
from tests.conftest import EXAMPLE_CONFIG, cli_app

CLOUDFORMATION_MAX_RESOURCES = 500


def test_adding_items_never_moves_existing_ones_within_the_same_shard_count():
    names = [f"user{i:03}" for i in range(120)]
    before = shard(names, str, capacity=150)
    after = shard([*names, "newcomer", "another"], str, capacity=150)
    assert len(before) == len(after) == 1
    assert after[0][: len(names)] == names


def test_growing_the_shard_count_moves_items_only_into_the_new_shard():
    names = [f"user{i:03}" for i in range(1000)]
    moved = [name for name in names if jump_hash(name, 4) != jump_hash(name, 3)]
    assert all(jump_hash(name, 4) == 3 for name in moved)
    assert 0.15 < len(moved) / len(names) < 0.35  # about one in four


def test_shards_stay_near_their_capacity():
    shards = shard([f"user{i:04}" for i in range(1200)], str, capacity=150)
    assert len(shards) == 8
    assert max(len(s) for s in shards) < 200


@pytest.fixture(scope="module")
def large_org(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    document: dict[str, Any] = copy.deepcopy(yaml.safe_load(EXAMPLE_CONFIG.read_text()))
    document["teams"]["fraud"]["users"] = [{"name": f"analyst-{i:03}"} for i in range(400)]
    document["feature_store"]["feature_groups"] = [
        {
            "name": f"group-{i:03}",
            "team": "fraud",
            "record_identifier": "id",
            "event_time": "ts",
            "features": [{"name": "id", "type": "String"}, {"name": "ts", "type": "Fractional"}],
        }
        for i in range(450)
    ]
    # 27 inference APIs in each serving account (the example's and 26 more endpoints of its model).
    served = {**document["endpoints"][0], "monitoring": {"data_quality": True, "schedule": "daily"}}
    document["endpoints"] += [{**served, "name": f"api-{i:02}"} for i in range(26)]
    directory = tmp_path_factory.mktemp("large")
    app = cli_app(directory)
    build(app, parse_config(document))
    app.synth()
    return directory, document


def _templates(directory: Path, stage: str) -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text()) for path in (directory / f"assembly-{stage}").glob("*.template.json")
    }


def test_hundreds_of_users_shard_into_stacks_under_the_resource_limit(large_org):
    directory, document = large_org
    templates = _templates(directory, "MlDevDevelopment")
    user_stacks = {name: t for name, t in templates.items() if "StudioUsersfraud" in name}
    assert len(user_stacks) == 3  # 400 users over shards of about 150
    profiles = [
        r["Properties"]["UserProfileName"]
        for t in user_stacks.values()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::SageMaker::UserProfile"
    ]
    assert sorted(profiles) == sorted(f"fraud-{user['name']}" for user in document["teams"]["fraud"]["users"])
    for template in templates.values():
        assert len(template["Resources"]) < CLOUDFORMATION_MAX_RESOURCES


def test_hundreds_of_feature_groups_shard_into_stacks_under_the_resource_limit(large_org):
    directory, _ = large_org
    templates = _templates(directory, "DataData")
    group_stacks = [t for name, t in templates.items() if "FeatureGroups" in name]
    assert len(group_stacks) == 3
    groups = [r for t in group_stacks for r in t["Resources"].values() if r["Type"] == "AWS::SageMaker::FeatureGroup"]
    assert len(groups) == 450
    for template in templates.values():
        assert len(template["Resources"]) < CLOUDFORMATION_MAX_RESOURCES


def test_many_inference_apis_shard_into_stacks_under_the_resource_limit(large_org):
    directory, _ = large_org
    templates = _templates(directory, "MlProdServing")
    api_stacks = {name: t for name, t in templates.items() if "InferenceApis" in name}
    assert len(api_stacks) == 3
    apis = [r for t in api_stacks.values() for r in t["Resources"].values() if r["Type"] == "AWS::ApiGateway::RestApi"]
    assert len(apis) == 28  # the 26 added and the example's two
    # One account-wide logging setting, in the first shard, which the others deploy after.
    settings = [
        name
        for name, t in api_stacks.items()
        for r in t["Resources"].values()
        if r["Type"] == "AWS::ApiGateway::Account"
    ]
    assert len(settings) == 1 and "InferenceApis0" in settings[0]
    for template in api_stacks.values():
        assert len(template["Resources"]) < CLOUDFORMATION_MAX_RESOURCES


def test_a_teams_models_spread_over_model_build_stacks_that_stay_small():
    models = [Model(name=f"model-{i:03}", team="churn", metric=Metric(name="auc", threshold=0.7)) for i in range(50)]
    shards = model_build_shards(models)
    assert len(shards) == 3
    assert sum(len(models) for models in shards) == 50
    # About 18 KB of pipeline definition a model: every shard stays far under the 1 MB template limit.
    assert max(len(models) for models in shards) * 18_000 < 1_000_000 / 2
    assert model_build_shards(models[:20]) == [models[:20]], "one stack until a team has more than 20"
