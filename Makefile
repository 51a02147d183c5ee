# ConnectGraph: `make run` serves GraphiQL at http://127.0.0.1:8000/graphql; `make test` checks everything.
# Without DATABASE_URL an embedded PostgreSQL keeps its data in .pgdata/ (see docs/adr/0001).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint fmt migrate demo schema bench clean-db assets browser docker

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[dev]'
	touch $@

install: $(STAMP)  ## Create .venv and install the project with its dev tools

run: $(STAMP)  ## Migrate, load the demo data if empty, serve (Ctrl-C stops it all)
	$(BIN)/connectgraph serve --reload

# pytest exits with 5 when it collects no test: that fails `make test` too, deliberately.
test: lint  ## Lint, type-check and run the tests against a real PostgreSQL
	$(BIN)/pytest

lint: $(STAMP)  ## ruff (lint + format check) and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)  ## Format and auto-fix
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: $(STAMP)  ## alembic upgrade head
	$(BIN)/connectgraph migrate upgrade head

demo: $(STAMP)  ## Empty the data tables and reload the demo data
	$(BIN)/connectgraph demo load --force

schema: $(STAMP)  ## Export the SDL to schema/schema.graphql
	$(BIN)/python -m schema.export > schema/schema.graphql.tmp
	mv schema/schema.graphql.tmp schema/schema.graphql

bench: $(STAMP)  ## Run the benchmarks (see bench/)
	bench/run

# The browser bundles are committed in service/static, so `make run` needs no Node; this rebuilds them.
clients/node_modules/.package-lock.json: clients/package-lock.json
	cd clients && npm ci --no-fund --no-audit

assets: clients/node_modules/.package-lock.json  ## Rebuild GraphiQL and the dashboard into service/static (Node)
	cd clients && npm run codegen && npm run build

browser:  ## Install Debian's Chromium for the browser test (as root, when missing)
	@if command -v chromium >/dev/null 2>&1; then echo "chromium: $$(command -v chromium)"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	else echo "chromium is missing: as root, apt-get install chromium (the browser test skips without it)" >&2; fi

clean-db:  ## Stop the embedded PostgreSQL and delete its data (.pgdata, .pgdata-test)
	@for dir in .pgdata .pgdata-test; do \
	  if [ -d "$$dir" ] && [ -x $(BIN)/connectgraph ]; then $(BIN)/connectgraph db-stop --pgdata-dir "$$dir"; fi; \
	  rm -rf "$$dir"; \
	done

docker:  ## Install Docker (as root, when missing), start dockerd, build the local base image (container test)
	@if ! command -v dockerd >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io debootstrap >/dev/null; \
	  else echo "dockerd is missing: as root, apt-get install docker.io debootstrap" >&2; exit 1; fi; \
	fi
	@if ! docker version >/dev/null 2>&1; then \
	  echo "starting dockerd (log: /var/log/connectgraph-dockerd.log)"; \
	  nohup dockerd >/var/log/connectgraph-dockerd.log 2>&1 & \
	  for i in $$(seq 1 30); do docker version >/dev/null 2>&1 && break; sleep 1; done; \
	fi
	@docker version --format 'Docker engine {{.Server.Version}}'
	docker/base-image
