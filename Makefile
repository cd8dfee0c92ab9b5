# The two commands: `make synth` and `make test`. Both install what they need first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# BASE_PYTHON makes the virtual environment; another Python gets a venv of its own, e.g.
# `make test BASE_PYTHON=python3.13 VENV=.venv-3.13` (CI tests on 3.11 and 3.13).
BASE_PYTHON ?= python3
# Resolved before PATH puts the virtual environment first: a bare `python3` in a recipe would
# then be the environment's own, which has no pip.
BASE_PYTHON_BIN := $(shell command -v $(BASE_PYTHON) 2>/dev/null || echo $(BASE_PYTHON))
VENV ?= .venv
PYTHON := $(VENV)/bin/python
CONFIG ?= config/example.yaml
# uv installs the pinned set in seconds where pip takes minutes. The environments get no pip of
# their own (creating it takes longer than everything else the install does): BASE_PYTHON's pip
# installs uv into them (pip 22.3+, which Python 3.11 ships, installs into another interpreter).
UV_VERSION := 0.13.10

# jsii and the CDK CLI run on Node. The machine's Node may be older than 22 (Node 20 is
# end-of-life and slower here); then the Node 22 that npm installs into node_modules is used.
SYSTEM_NODE_MAJOR := $(shell node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
ifeq ($(shell test $(SYSTEM_NODE_MAJOR) -lt 22 && echo old),old)
export PATH := $(CURDIR)/node_modules/node/bin:$(PATH)
endif
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
CDK := $(CURDIR)/node_modules/.bin/cdk
# Each long step says what it does and how long it took.
PHASE := $(CURDIR)/tools/phase

.PHONY: help install synth control-tower-table flows preflight quotas release-products pipelines pipelines-check bootstrap-commands deploy-commands diagram config-reference rehearse bench lint typecheck test clean

help:
	@echo "make synth   install, synthesize CONFIG ($(CONFIG)) into cdk.out, cfn-lint, Control Tower, print a summary"
	@echo "make control-tower-table  synthesize config/example.yaml and rewrite docs/control-tower.md"
	@echo "make test    install, then ruff, mypy (strict) and pytest"
	@echo "make pipelines        regenerate ml_pipelines/definitions with the sagemaker SDK (own venv, offline)"
	@echo "make pipelines-check  fail if the committed pipeline templates differ from what the SDK generates"
	@echo "make flows                prove every runtime flow of CONFIG hop by hop (identity, resource, key, SCP, network)"
	@echo "make preflight            prove, offline, that AWS would accept the deploy of cdk.out (run by synth)"
	@echo "make quotas               print per account the quota increases to request before the first deploy (after synth)"
	@echo "make release-products     release the Service Catalog products of CONFIG whose templates changed"
	@echo "make bootstrap-commands   print the cdk bootstrap commands of every account of CONFIG"
	@echo "make deploy-commands      print the cdk deploy commands of CONFIG, wave by wave"
	@echo "make diagram              draw CONFIG's accounts, stages and flows into the README (Mermaid)"
	@echo "make config-reference     regenerate docs/config-reference.md from the config models"
	@echo "make rehearse  rehearse a model's approval, deployment and drift across ml-dev, shared-services and ml-prod on a local AWS emulator (moto)"
	@echo "make bench   synthesis of growing organizations (table, build/bench.json), handler import times, config loading, the Control Tower gate,"
	@echo "             the preflight and flows on CONFIG's cloud assembly"
	@echo "make clean   remove cdk.out, caches (the Control Tower gate's too), .venv and node_modules"

install: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt constraints.txt
	test -x $(PYTHON) || $(PHASE) "create $(VENV)" $(BASE_PYTHON_BIN) -m venv --without-pip $(VENV)
	$(PHASE) "install uv $(UV_VERSION)" \
		$(BASE_PYTHON_BIN) -m pip --python $(PYTHON) install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(PHASE) "install the pinned Python packages (uv)" \
		$(VENV)/bin/uv pip install --quiet --python $(PYTHON) -r requirements-dev.txt -c constraints.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	$(PHASE) "install the pinned CDK CLI and Node (npm ci)" npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The sagemaker SDK (about 1 GB) has a virtual environment of its own; the CDK app never imports it.
# It builds AWS clients as it imports, so it gets a region and dummy credentials, no IAM role
# checks and no telemetry: generating the templates calls no AWS API.
PIPELINES_VENV := .venv-pipelines
SDK_OFFLINE := AWS_DEFAULT_REGION=us-east-1 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline \
	AWS_EC2_METADATA_DISABLED=true SAGEMAKER_VALIDATE_ROLE=false \
	SAGEMAKER_USER_CONFIG_OVERRIDE=$(CURDIR)/ml_pipelines/sdk-defaults.yaml

$(PIPELINES_VENV)/.installed: requirements-pipelines.txt
	test -x $(PIPELINES_VENV)/bin/python || $(BASE_PYTHON_BIN) -m venv --without-pip $(PIPELINES_VENV)
	$(BASE_PYTHON_BIN) -m pip --python $(PIPELINES_VENV)/bin/python install --quiet --disable-pip-version-check \
		uv==$(UV_VERSION)
	$(PIPELINES_VENV)/bin/uv pip install --quiet --python $(PIPELINES_VENV)/bin/python -r requirements-pipelines.txt
	touch $@

pipelines: $(PIPELINES_VENV)/.installed
	$(SDK_OFFLINE) $(PIPELINES_VENV)/bin/python -m ml_pipelines.generate

pipelines-check: $(PIPELINES_VENV)/.installed
	$(SDK_OFFLINE) $(PIPELINES_VENV)/bin/python -m ml_pipelines.generate --check

synth: install
	rm -rf cdk.out
	$(PHASE) "synthesize $(CONFIG) with every gate" $(CDK) synth --quiet -c config=$(CONFIG)
	$(PHASE) "cfn-lint every template, one share per core" $(PYTHON) -m tools.lint_templates
	$(PHASE) "AWS Control Tower proactive controls" $(PYTHON) -m tools.control_tower cdk.out
	$(PHASE) "deploy preflight" $(PYTHON) -m tools.preflight cdk.out $(CONFIG)
	$(PYTHON) -m tools.synth_summary cdk.out $(CONFIG)

# docs/control-tower.md: AWS Control Tower's proactive controls on the example organization (a test keeps it current).
control-tower-table:
	$(MAKE) --no-print-directory synth CONFIG=config/example.yaml
	$(PYTHON) -m tools.control_tower cdk.out --write-table docs/control-tower.md

# The runtime flows, hop by hop (the test suite proves them too).
flows: synth
	$(PYTHON) -m tools.flows cdk.out $(CONFIG)

# The deploy preflight alone, on the cloud assembly of the last synth.
preflight: install
	$(PYTHON) -m tools.preflight cdk.out $(CONFIG)

# What each account must ask AWS for before the first deploy, from the cloud assembly of the last synth.
quotas: install
	$(PYTHON) -m tools.quotas $(CONFIG) cdk.out

# A product whose template changed is refused by synth until it is released under a new name.
release-products: install
	rm -rf cdk.out
	$(CDK) synth --quiet -c config=$(CONFIG) -c release-products=true
	$(MAKE) --no-print-directory synth CONFIG=$(CONFIG)

# The policies are generated from the synthesized stacks (proofs.deploy).
bootstrap-commands: synth
	$(PYTHON) -m tools.bootstrap_commands $(CONFIG) cdk.out build/bootstrap

# docs/config-reference.md from the config models (a test checks it is current).
config-reference: install
	$(PYTHON) -m tools.config_reference

# The README's architecture diagram of CONFIG (CI checks it for config/example.yaml).
diagram: install
	$(PYTHON) -m tools.diagram $(CONFIG)

deploy-commands: install
	$(PYTHON) -m tools.deploy_commands $(CONFIG)

rehearse: install
	$(PYTHON) -m tools.rehearse $(CONFIG)

# synth first: the Control Tower gate's benchmark and bench.preflight run on the cloud assembly in cdk.out.
bench: synth
	mkdir -p build
	$(PYTHON) -m bench.synth --json build/bench.json
	$(PYTHON) -m bench.lambda_imports
	$(PYTHON) -m bench.config_load
	$(PYTHON) -m bench.control_tower cdk.out
	$(PYTHON) -m bench.preflight --config $(CONFIG)

lint: install
	$(PHASE) "ruff" bash -c "ruff check . && ruff format --check ."

typecheck: install
	$(PHASE) "mypy (strict)" mypy .

test: lint typecheck
	$(PHASE) "pytest" pytest

clean:
	rm -rf cdk.out build/control-tower .mypy_cache .ruff_cache .pytest_cache .venv .venv-* node_modules
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
