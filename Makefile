# gridlink: `make run` serves the demo, `make test` runs the whole suite.
# Both set up everything they need first (system packages, .venv, the database).
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint setup clean translations screenshots bench

run: setup
	scripts/system-deps.sh run
	$(BIN)/gridlink db start
	$(BIN)/gridlink db upgrade
	$(BIN)/gridlink seed demo
	$(BIN)/gridlink users ensure-admin
	$(BIN)/gridlink serve --host $(HOST) --port $(PORT)

test: setup
	scripts/system-deps.sh test
	$(BIN)/ruff check .
	$(BIN)/pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .

# The province-scale benchmark (bench/RESULTS.md): builds the synthetic province in
# its own database first if it is missing (about 3 minutes), then about 5 minutes.
bench: setup
	scripts/system-deps.sh run
	$(BIN)/gridlink db start
	$(BIN)/gridlink db upgrade
	$(BIN)/python -m bench.run $(BENCH_ARGS)

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	scripts/system-deps.sh run
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

clean:
	-$(BIN)/gridlink db stop
	rm -rf var test-artifacts

# After changing interface strings: refresh the catalogue and fill in the Chinese.
translations: setup
	mkdir -p var
	$(BIN)/pybabel extract -F babel.cfg -k _l -k N_ -o var/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching -i var/messages.pot -d admin/translations -l zh_Hans_CN
	$(BIN)/python scripts/translate_zh.py

# Refresh the screenshots in docs/ (the browser tests take them).
screenshots: setup
	scripts/system-deps.sh test
	GRIDLINK_SCREENSHOTS=docs/screenshots $(BIN)/pytest -m browser -q
