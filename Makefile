# Registro 648: `make run` serves the demo, `make test` runs every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes for `make test` (pytest-xdist): auto = one per CPU; 0 runs the suite in this process. Work is
# stolen by an idle process (--dist worksteal), so one long test at the end no longer leaves the other CPU idle.
PYTEST_WORKERS ?= auto
# The demo: SQLite under var/, tasks in-process, debug on. Override any of these from the environment.
DEV_ENV := DJANGO_DEBUG=$${DJANGO_DEBUG:-1}

.PHONY: install install-dev run test fuzz lint migrate seed worker beat messages clean bench bench-admin bench-smoke loadtest

# The installs go through uv (pinned here, installed into the venv by pip): a fresh `make run` spends about 4 s
# installing instead of 24 s with pip.
UV_VERSION ?= 0.13.10
UV_INSTALL = $(BIN)/uv pip install --quiet --python $(BIN)/python

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.runtime: requirements.txt | $(BIN)/activate
	$(UV_INSTALL) -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(UV_INSTALL) -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

# FHIR.js (npm `fhir`, pinned in tests/fhir_validator/package-lock.json): the FHIR validator the tests run with
# Node (tests/prescriptions/test_fhir_conformance.py). Installed again only when the lock file changes; without npm
# it says so and those tests skip (or fail under REQUIRE_SERVICES=1).
FHIR_VALIDATOR := tests/fhir_validator

$(FHIR_VALIDATOR)/node_modules/.installed: $(FHIR_VALIDATOR)/package-lock.json
	@if command -v npm >/dev/null; then \
		cd $(FHIR_VALIDATOR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else \
		echo "npm not found: the FHIR.js validator ($(FHIR_VALIDATOR)) is not installed, its tests will skip"; \
	fi

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev $(FHIR_VALIDATOR)/node_modules/.installed

migrate: install
	$(DEV_ENV) $(BIN)/python manage.py migrate --no-input

seed: migrate
	$(DEV_ENV) $(BIN)/python manage.py seed_demo --history

run: seed
	@echo "Registro 648 on http://$(HOST):$(PORT)/ : sign in as one of the demo users listed above (password demo-password-648)"
	$(DEV_ENV) $(BIN)/python manage.py runserver $(HOST):$(PORT)

# Bytecode is written even where the environment says not to (PYTHONDONTWRITEBYTECODE=1, as on some CI images):
# uv installs no .pyc, so without it every test process and every worker or server a test starts compiles the
# ~2 000 modules it imports again (about 3 s of CPU each).
test: install-dev
	PYTHONDONTWRITEBYTECODE= $(BIN)/pytest -n $(PYTEST_WORKERS) --dist worksteal

# Only the schema fuzzing (tests/test_schema_fuzz.py): FUZZ_MAX_EXAMPLES (100) requests per operation and role, and
# schemathesis' coverage cases as every role too.
FUZZ_MAX_EXAMPLES ?= 100
fuzz: install-dev
	FUZZ_MAX_EXAMPLES=$(FUZZ_MAX_EXAMPLES) FUZZ_COVERAGE_AS_EVERY_ROLE=1 $(BIN)/pytest -n $(PYTEST_WORKERS) -m fuzz tests/test_schema_fuzz.py

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

worker: install
	$(BIN)/celery -A registry worker --loglevel=INFO

beat: install
	$(BIN)/celery -A registry beat --loglevel=INFO

messages: install-dev
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py makemessages -l it --ignore=.venv --ignore=var
	DJANGO_SETTINGS_MODULE=tests.settings $(BIN)/python manage.py compilemessages -l it --ignore=.venv

# The benchmark (PostgreSQL; bench/run.py): BENCH_SIZES and DATABASE_URL from the environment, writes bench/results.json.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/reg_bench
bench: install-dev
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} BENCH_SIZES=$${BENCH_SIZES:-10000,100000,1000000} $(BIN)/python bench/run.py

# The audit trail's admin list at 12 million events (bench/admin_bench.py): a scratch database of its own.
ADMIN_BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/reg_audit12m
bench-admin: install-dev
	DATABASE_URL=$${DATABASE_URL:-$(ADMIN_BENCH_DATABASE_URL)} $(BIN)/python bench/admin_bench.py

bench-smoke: install-dev
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} BENCH_SIZES=10000 BENCH_QUICK=1 $(BIN)/python bench/run.py

# The load test (bench/loadtest.py): gunicorn (DEBUG off), one Celery worker, a fresh PostgreSQL database
# reg_loadtest_<pid> (dropped at the end), Redis db 9 and 10; LOADTEST_CLIENTS (50) for LOADTEST_SECONDS (60).
loadtest: install-dev
	$(BIN)/python bench/loadtest.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis $(FHIR_VALIDATOR)/node_modules
