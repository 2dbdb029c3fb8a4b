# The two commands a new machine needs: `make run` and `make test`.
# Installs come from the hashed lock files in requirements/ (`make lock` refreshes them).
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
LOCKS   = requirements/runtime.txt requirements/dev.txt
# The lock must not name this machine's package mirrors, and pip/setuptools are pinned too.
COMPILE = $(BIN)/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
          --no-emit-index-url --no-emit-find-links

.PHONY: run test test-sqlite test-postgres smoke drills lint lock bench clean

$(STAMP): pyproject.toml $(LOCKS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements/dev.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

## Serve on http://127.0.0.1:8000 with SQLite, WeCom sandbox, jobs and scheduler in-process.
run: $(STAMP)
	$(BIN)/orderdesk db upgrade
	$(BIN)/orderdesk demo --if-empty
	$(BIN)/orderdesk serve

## The whole suite: on SQLite, then on PostgreSQL + Redis (TEST_DATABASE_URL / TEST_REDIS_URL).
test: $(STAMP)
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite: $(STAMP)
	ORDERDESK_TEST_BACKEND=sqlite $(BIN)/pytest

test-postgres: $(STAMP)
	ORDERDESK_TEST_BACKEND=postgres $(BIN)/pytest

## The built wheel, installed without extras in a fresh venv, serving PostgreSQL + Redis.
smoke: $(STAMP)
	ORDERDESK_TEST_BACKEND=postgres $(BIN)/pytest -m smoke

## Failure drills of the production shape on PostgreSQL + Redis (tests/drills; a few minutes).
## Figures per drill go to bench/DRILLS.md; process logs of the last run to bench/drill-logs/.
drills: $(STAMP)
	rm -f bench/drill-results.jsonl
	ORDERDESK_TEST_BACKEND=postgres $(BIN)/pytest -m drill tests/drills; status=$$?; \
	$(BIN)/python -m tests.drills.report; exit $$status

## Only the unit tests (no database): seconds.
test-unit: $(STAMP)
	$(BIN)/pytest tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

## Re-resolve the lock files from pyproject.toml (runtime pins follow the dev resolution).
lock: $(STAMP)
	$(COMPILE) --upgrade --extra dev -o requirements/dev.txt pyproject.toml
	$(COMPILE) --upgrade -c requirements/dev.txt -o requirements/runtime.txt pyproject.toml

## Every benchmark under bench/; each appends its figures to bench/RESULTS.md.
bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) instance build dist *.egg-info
