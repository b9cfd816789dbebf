# The two commands a newcomer needs:  make demo   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 5000
#: The project's own packages (pyproject.toml's packages.find), the tests and the benchmarks.
SOURCES := accounts bootstrap carriers core demo inventory knowledge migrations purchasing returns sales web tests bench

.PHONY: install demo serve test bench lint typecheck format clean translations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,demo]'
	touch $(STAMP)

install: $(STAMP)

## Set up, migrate the SQLite database, load demo data, and run spareflow on
## http://$(HOST):$(PORT)/ with its scheduler, the sandbox carrier and the refunds sandbox
demo: $(STAMP)
	$(BIN)/spareflow db upgrade
	$(BIN)/spareflow demo-data
	$(BIN)/spareflow demo --host $(HOST) --port $(PORT)

serve: $(STAMP)
	$(BIN)/spareflow serve --host $(HOST) --port $(PORT)

## The whole test suite (PostgreSQL variants run when SPAREFLOW_TEST_DATABASE_URL is set),
## one worker process per CPU (pytest-xdist), each test file in one worker.
## The sources are compiled first: the suite starts spareflow as a process many times,
## and where PYTHONDONTWRITEBYTECODE is set (as on the CI machines) each start would otherwise
## compile every module again (a third of a second each). Only changed files are recompiled.
test: $(STAMP)
	$(BIN)/python -m compileall -q -j 0 $(SOURCES)
	$(BIN)/pytest -n auto --dist loadfile $(PYTEST_ARGS)

## The benchmarks (bench/run.py): a few minutes, loopback only, a scratch PostgreSQL database on
## the server of SPAREFLOW_TEST_DATABASE_URL (default: the local server's postgres database)
## The HTTP load comes from wrk (Debian's package), installed here when missing.
bench: $(STAMP)
	@command -v wrk >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk || \
		{ $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }; }
	$(BIN)/python bench/run.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

## mypy over the packages pyproject.toml's [tool.mypy] lists (strict on the domain packages)
typecheck: $(STAMP)
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Extract the pages' texts (web/ only), merge them into each language's messages.po, and
## compile the .mo files (commit both). Translate new or fuzzy entries in the .po, then rerun.
translations: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext --no-location --sort-output \
		--project spareflow -o web/translations/messages.pot .
	$(BIN)/pybabel update -i web/translations/messages.pot -d web/translations --no-wrap
	$(BIN)/pybabel compile -d web/translations --statistics

clean:
	rm -rf $(VENV) instance .pytest_cache .ruff_cache .mypy_cache .hypothesis *.egg-info
