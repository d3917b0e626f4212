# The README's quick start: `make run` serves the demo, `make test` runs every test.
# Both work on a fresh machine with only Python 3.11+: they create .venv themselves and
# install the versions CI tested, from the lock files in requirements/ (with hashes).
# `make lock` refreshes those files after a change of pyproject.toml's dependencies.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := var
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
LOCK   := requirements
# Hashes of every file of every pinned version; no index URL or local path is written.
COMPILE := $(BIN)/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-find-links --no-emit-index-url --no-emit-trusted-host --upgrade

.PHONY: run test test-fast lint demo lock clean fuzz

# The suite starts hundreds of Python processes (`mailroom serve`, its workers, CLI runs),
# each importing Mailroom: with PYTHONDONTWRITEBYTECODE set (some containers set it) every
# one of them would compile Mailroom's ~380 modules from source again (~0.7 s of a core for
# all of them), and each xdist worker would redo pytest's assertion rewriting of every test
# module on every run. The bytecode goes to __pycache__/ (.gitignore'd).
unexport PYTHONDONTWRITEBYTECODE

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "make: Mailroom needs Python 3.11 or newer as $(PYTHON) (try: make PYTHON=python3.12)"; exit 1; }
	@$(PYTHON) -m venv $(VENV) || \
	  { rm -rf $(VENV); echo "make: '$(PYTHON) -m venv' failed; on Debian: apt-get install python3-venv"; exit 1; }

# The locked versions, each file checked against its hash; then Mailroom itself.
$(VENV)/.installed-run: pyproject.toml $(LOCK)/run.txt | $(BIN)/python
	$(PIP) install --require-hashes -r $(LOCK)/run.txt
	$(PIP) install --no-deps -e .
	@touch $@

# --no-compile: pip would byte-compile every file of every package, most never imported by
# the tests (a third to a half of the install's time here); Python compiles what is
# imported, once, on import (the bytecode is written: see PYTHONDONTWRITEBYTECODE above).
$(VENV)/.installed-test: pyproject.toml $(LOCK)/test.txt | $(BIN)/python
	$(PIP) install --no-compile --require-hashes -r $(LOCK)/test.txt
	$(PIP) install --no-deps -e .
	@touch $@ $(VENV)/.installed-run

lock: | $(BIN)/python
	$(PIP) install pip-tools
	$(COMPILE) --output-file $(LOCK)/run.txt pyproject.toml
	$(COMPILE) --extra test --output-file $(LOCK)/test.txt pyproject.toml

# The demo installation: built in a scratch directory, moved into place when complete
# (so init's own hints, which name the scratch directory, are not shown).
$(DEMO)/mailroom.toml: | $(VENV)/.installed-run
	rm -rf $(DEMO).new
	$(BIN)/mailroom init $(DEMO).new --demo >/dev/null
	$(BIN)/mailroom -c $(DEMO).new/mailroom.toml domain add example.test
	echo demo | $(BIN)/mailroom -c $(DEMO).new/mailroom.toml user add alice@example.test --name "Alice Demo" --password-stdin
	echo demo | $(BIN)/mailroom -c $(DEMO).new/mailroom.toml user add bob@example.test --name "Bob Demo" --password-stdin
	$(BIN)/mailroom -c $(DEMO).new/mailroom.toml alias add postmaster@example.test alice@example.test
	mv $(DEMO).new $(DEMO)
	@echo "demo ready: config $(DEMO)/mailroom.toml, self-signed certificate $(DEMO)/tls/cert.pem"
	@echo "check it: $(BIN)/mailroom -c $(DEMO)/mailroom.toml config check; serve it: make run"

demo: $(DEMO)/mailroom.toml

# The demo serves loopback only, so when started by root (a fresh CI machine) it may stay
# root; a production host sets [server] user instead (README, "Running in production").
run: AS_ROOT = $(if $(filter 0,$(shell id -u)),--as-root)
run: $(VENV)/.installed-run $(DEMO)/mailroom.toml
	@echo "Demo logins: alice@example.test and bob@example.test, password 'demo' (TLS required)."
	@echo "Web admin: https://127.0.0.1:8080/ as alice: client certificate $(DEMO)/tls/alice.p12 (password 'demo'), or password + TOTP (README, 'The web admin of the demo')."
	$(BIN)/mailroom serve -c $(DEMO)/mailroom.toml $(AS_ROOT)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests fuzz
	$(BIN)/ruff format --check src tests fuzz
	$(BIN)/mypy
	$(BIN)/mypy fuzz
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -q -p no:cacheprovider tests/test_import_cycles.py

# Two processes (or one per core): the suite's servers and clients wait on sockets and
# disks more than on the CPU. `pytest` alone runs it in one process.
# `alone` tests (pyproject's markers) share one xdist group: loadgroup runs them in turn.
# The lint runs meanwhile (mostly mypy: about a minute of one core on a fresh clone, which
# has no .mypy_cache), its output kept in test-artifacts/lint.log and shown after the
# tests'; either one failing fails `make test`.
test: $(VENV)/.installed-test
	@mkdir -p test-artifacts
	@$(MAKE) --no-print-directory lint >test-artifacts/lint.log 2>&1 & lint=$$!; \
	  $(BIN)/pytest -n auto --dist loadgroup; tests=$$?; \
	  wait $$lint; linted=$$?; \
	  cat test-artifacts/lint.log; \
	  [ $$linted = 0 ] || echo "make: the lint failed (test-artifacts/lint.log)"; \
	  [ $$tests = 0 ] && [ $$linted = 0 ]

# A quick subset while working: no lint, and not the `slow` tests (tests/mailhost's whole
# servers in processes of their own, tests/browser's chromium; see tests/conftest.py).
# Not a replacement for `make test`, which CI runs.
test-fast: $(VENV)/.installed-test
	$(BIN)/pytest -n auto --dist loadgroup -m "not slow" -q

# Fuzzing (fuzz/README.md): every parser's harness under atheris for SECONDS each, one
# after the other; a crash leaves its input in fuzz/crashes/<harness>/ and fails the
# target. Not part of `make test`, which only replays the corpora (tests/fuzz/).
SECONDS ?= 60
fuzz: $(VENV)/.installed-test
	$(BIN)/python -m fuzz.run --seconds $(SECONDS)

clean:
	rm -rf $(VENV) $(DEMO) $(DEMO).new .pytest_cache .mypy_cache .ruff_cache fuzz/.work fuzz/crashes
