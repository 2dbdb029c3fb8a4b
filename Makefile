# The two commands a new machine needs: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres drills lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
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

## Failure drills of the production shape on PostgreSQL + Redis (tests/drills; a few minutes).
## Figures per drill go to bench/DRILLS.md; process logs of the last run to bench/drill-logs/.
drills: $(STAMP)
	rm -f bench/drill-results.jsonl
	ORDERDESK_TEST_BACKEND=postgres $(BIN)/pytest -m drill tests/drills; status=$$?; \
	$(BIN)/python -m tests.drills.report; exit $$status

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

clean:
	rm -rf $(VENV) instance build *.egg-info
