# Every target sets up .venv on first use, so each works as the only command
# on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.installed
APP    ?= examples/hello.py

.PHONY: run test lint bench bench-full bench-users browser clean

$(STAMP): pyproject.toml setup.cfg
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test,markdown,bench]'
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m stgo run $(APP)

# Browser, store and proxy tests need Debian's chromium, redis-server and nginx;
# scripts/ensure-chromium installs what is missing when we are root, and
# otherwise says what to do.
browser:
	@sh scripts/ensure-chromium

test: $(STAMP) browser
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check stgo tests bench examples
	$(VENV)/bin/mypy --strict stgo

# bench.users makes the peers' virtualenvs (Streamlit, NiceGUI) in ~/.cache/stgo-bench
# on first use; they are never stgo's dependencies.
bench: $(STAMP) browser
	$(PY) -m bench --quick
	$(PY) -m bench.users --quick --json bench/results/users-quick.json

# The published head-to-head (N = 10, 25, 50 and stgo --workers 2): about an hour.
bench-users: $(STAMP) browser
	$(PY) -m bench.users --json bench/results/users-full.json --doc

bench-full: $(STAMP) browser
	$(PY) -m bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache
