# The two commands a new contributor needs: `make run` and `make test`.
# Every dependency is pinned in constraints.txt, so a fresh clone installs the set we tested.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-slow test-spark lint typecheck pytest clean java browser postgres wrk

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,spark]'
	touch $(STAMP)

# Spark (--engine spark and its parity tests) needs Java 17; the machine has it, and this
# installs it from Debian's packages if it is ever missing.
java:
	@command -v java >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }

# The report's browser test drives Debian's Chromium (Playwright's own download needs the
# network); WeasyPrint needs Pango, which the machine has, and installs it if ever missing; the
# PDF test renders and reads the pages with poppler-utils (pdftoppm, pdftotext), and the figures
# are measured and drawn in DejaVu Sans (fonts-dejavu-core).
browser:
	@command -v chromium >/dev/null 2>&1 && ldconfig -p | grep -q libpangoft2 \
	  && command -v pdftoppm >/dev/null 2>&1 && fc-list | grep -q DejaVuSans || { \
	  apt-get update -qq && apt-get install -y -qq chromium libpango-1.0-0 libpangoft2-1.0-0 \
	    poppler-utils fonts-dejavu-core; }

# The registry's tests run on SQLite and on a PostgreSQL server they start from Debian's
# binaries (/usr/lib/postgresql/*/bin) on a free loopback port; this installs them if missing
# (SRNSKIT_TEST_PG=URL uses a running server instead).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || [ -n "$$SRNSKIT_TEST_PG" ] || { \
	  apt-get update -qq && apt-get install -y -qq postgresql; }

# The registry's benchmarks (benchmarks/registry.py, benchmarks/web.py) load the server with
# wrk, a compiled load generator from Debian's packages, when installed (else Python threads,
# which take CPU from the server on a small machine); this installs it if missing.
wrk:
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq wrk; }

run: $(STAMP)
	$(BIN)/srnskit validate src/srnskit/examples/demo
	mkdir -p out
	$(BIN)/srnskit derive src/srnskit/examples/demo --definitions kdigo2021 --out out/demo-derived --force
	@echo "inclusion flow:" && cat out/demo-derived/flow.json
	$(BIN)/srnskit report --out out/report.html --pdf out/report.pdf --figures out/figures --tables out/tables --force

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

# Every suite but the Spark half of the backend-parametrised engine tests (minutes of Spark
# start-up per test on two cores) and the slow tests (the pages in a browser, imports killed
# mid-way, the registry on PostgreSQL, the access matrices, the typed-Parquet bank, and the
# longest round trips and property tests, 10 s and more each: `make test` stays under 20 minutes);
# `make test-slow` and `make test-spark` run those, and CI runs all three.
pytest: $(STAMP) java browser postgres
	$(BIN)/pytest -q -m "not spark and not slow"

test: lint typecheck pytest

test-slow: $(STAMP) java browser postgres
	$(BIN)/pytest -q -m "slow and not spark"

test-spark: $(STAMP) java
	$(BIN)/pytest -q -m spark

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
