# The two commands: `make run` (the whole system with demo data) and `make test`.
# Both create .venv from the pinned requirements.txt on first use; reruns are fast.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install browser benchmark benchmark-deps clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
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
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadgroup

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

clean:
	rm -rf var
