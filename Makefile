# The two commands: `make run` (the whole system with demo data) and `make test`.
# Both create .venv from the pinned requirements.txt on first use; reruns are fast.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test install lint benchmark clean

$(STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and "Python 3.11 is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)

run: install
	@bash scripts/run.sh

test: install
	$(BIN)/ruff check dags plugins include tests benchmarks
	$(BIN)/pytest

benchmark: install
	$(BIN)/python benchmarks/dag_parse_time.py

clean:
	rm -rf var
