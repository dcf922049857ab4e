# `make run` starts everything on http://localhost:5000; `make test` runs the tests.
# Both create .venv and install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench scale soak lint clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-ml.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -r requirements-ml.txt
	touch $@

run: install
	@if [ -n "$$REDIS_URL" ]; then procfile=Procfile; else procfile=Procfile.dev; fi; \
	echo "Starting Spool from $$procfile on http://localhost:5000 (Ctrl-C stops it all)"; \
	PATH="$(CURDIR)/$(BIN):$$PATH" PYTHONUNBUFFERED=1 $(BIN)/honcho start -f $$procfile

VNU_VERSION := 26.9.27
VNU := tests/.vnu/node_modules/vnu-jar/build/dist/vnu.jar

# The W3C's HTML checker, which tests/test_markup.py runs on Java over each kind of page; with no
# npm here (.ci/run installs it, and Java), those tests say so and skip, as the browser tests do.
$(VNU):
	@if command -v npm >/dev/null 2>&1; then npm install --no-save --silent --prefix tests/.vnu vnu-jar@$(VNU_VERSION); \
	else echo "npm is not installed: the HTML checker's tests will be skipped (.ci/run installs npm and Java)"; fi

# Two test processes, each module kept in one (its fixtures' processes and hosts are per module).
test: install $(VNU)
	$(BIN)/python -m pytest -n 2 --dist loadfile

# The submit benchmark's load generator is wrk, a system package (installed here when root can).
bench: install
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-bench.txt
	@command -v wrk >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && export DEBIAN_FRONTEND=noninteractive && apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } || echo "wrk is not installed: the submit benchmark will be skipped"
	$(BIN)/python -m bench

# Spool on several hosts (network namespaces; needs root): Redis 7 over TLS behind Sentinels,
# haproxy, two web hosts, four worker hosts; prints its figures as bench does.
# Debian's redis-server (7, with TLS), not the venv's (6, without).
SCALE_PACKAGES := /usr/bin/redis-server:redis-server /usr/bin/redis-sentinel:redis-sentinel /usr/sbin/haproxy:haproxy

scale: install
	@missing=""; for pair in $(SCALE_PACKAGES); do test -x $${pair%%:*} || missing="$$missing $${pair##*:}"; done; \
	if [ -n "$$missing" ]; then export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq $$missing >/dev/null; fi
	$(BIN)/python -m scale

soak: install
	$(BIN)/python -m pytest -m soak

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var .pytest_cache tests/.vnu
