# Studio CRM: `make run` serves the app on SQLite (no set-up), `make test` runs the suite on PostgreSQL.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ARGS ?=
PYTEST_ARGS ?=

.PHONY: run test test-sqlite chromium bench load clean translations fuzz

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/python run.py $(ARGS)

# Debian's Chromium drives the browser tests (Playwright's own browser download is not used).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = "0" ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: install Debian's chromium package (browser tests will be skipped)"; fi; }

# The whole suite on PostgreSQL (two worker processes, each with its own database and browser server), then the smoke subset on SQLite (the zero-setup default).
test: $(VENV)/.installed-test chromium
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)
	CRM_TEST_DB=sqlite $(BIN)/python -m pytest -m smoke -q $(PYTEST_ARGS)

# Only the smoke subset against SQLite.
test-sqlite: $(VENV)/.installed-test
	CRM_TEST_DB=sqlite $(BIN)/python -m pytest -m smoke $(PYTEST_ARGS)

# Schemathesis over the app's own OpenAPI, long and random (make test runs a bounded pass of it).
fuzz: $(VENV)/.installed-test
	CRM_FUZZ_EXAMPLES=$${CRM_FUZZ_EXAMPLES:-200} CRM_FUZZ_SECONDS=$${CRM_FUZZ_SECONDS:-1800} CRM_FUZZ_RANDOM=1 \
	  $(BIN)/python -m pytest -q -s tests/hardening/test_fuzz_openapi.py $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(BIN)/python -m bench.run $(ARGS)

$(VENV)/.installed-load: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,load]'
	touch $@ $(VENV)/.installed-test $(VENV)/.installed-run

# A studio's day under load (bench/load.py): gunicorn on 127.0.0.1 against PostgreSQL with the 100k
# data set, 50 Locust users, the saturation steps, then the consistency checks (README "Load test").
load: $(VENV)/.installed-load
	$(BIN)/python -m bench.load $(ARGS)

# Re-extract the UI strings and update the Russian catalogue (then translate and commit both files).
translations: $(VENV)/.installed-run
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ -o app/translations/messages.pot --sort-by-file --omit-header app config.py
	$(BIN)/pybabel update -i app/translations/messages.pot -d app/translations -l ru
	$(BIN)/pybabel compile -d app/translations

clean:
	rm -rf $(VENV) .pytest_cache
