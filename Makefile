# The README's quick start: `make run` serves the demo, `make test` runs every test.
# Both work on a fresh machine with only Python 3.11+: they create .venv themselves.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := var
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: run test lint demo clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "make: Mailroom needs Python 3.11 or newer as $(PYTHON) (try: make PYTHON=python3.12)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV); echo "make: '$(PYTHON) -m venv' failed; on Debian: apt-get install python3-venv"; exit 1; }

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	@touch $@ $(VENV)/.installed-run

# The demo installation: built in a scratch directory, moved into place when complete.
$(DEMO)/mailroom.toml: | $(VENV)/.installed-run
	rm -rf $(DEMO).new
	$(BIN)/mailroom init $(DEMO).new --demo
	$(BIN)/mailroom -c $(DEMO).new/mailroom.toml domain add example.test
	echo demo | $(BIN)/mailroom -c $(DEMO).new/mailroom.toml user add alice@example.test --name "Alice Demo" --password-stdin
	echo demo | $(BIN)/mailroom -c $(DEMO).new/mailroom.toml user add bob@example.test --name "Bob Demo" --password-stdin
	mv $(DEMO).new $(DEMO)

demo: $(DEMO)/mailroom.toml

run: $(VENV)/.installed-run $(DEMO)/mailroom.toml
	@echo "Demo logins: alice@example.test and bob@example.test, password 'demo' (TLS required)."
	$(BIN)/mailroom serve -c $(DEMO)/mailroom.toml

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(DEMO) $(DEMO).new .pytest_cache .mypy_cache .ruff_cache
