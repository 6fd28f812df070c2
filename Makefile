# The two commands of the README:  make run  (the backend)  and  make test  (the whole suite).
# Both create .venv and install the pinned requirements on first use; `make test` also installs the
# Node tools of tests/clients (npm ci, from its lock file) when npm is present. Nothing else to install.

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)
# The Node tools of the generated-client and schema lint tests (tests/clients/), installed again
# when the lock file changes.
NPM        ?= npm
CLIENTS    := tests/clients
NODE_STAMP := $(CLIENTS)/node_modules/.installed-$(shell cksum < $(CLIENTS)/package-lock.json | cut -d' ' -f1)
HOST   ?= 127.0.0.1
PORT   ?= 8000
export FINCRA_SIMULATOR_PORT ?= 8001

.PHONY: run test lint bench install node-tools migrate db-stop clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# No install scripts: none of these tools needs one (the only one in the tree is telemetry).
$(NODE_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && $(NPM) ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## make node-tools: the Node tools of tests/clients/ (needs Node.js 20.19+ and npm); without npm
## their tests skip, saying so.
node-tools:
	@if ! command -v $(NPM) >/dev/null 2>&1; then \
	    echo "npm not found: the generated-client and schema lint tests will skip (install Node.js 20.19+ with npm)"; \
	elif [ ! -e $(NODE_STAMP) ]; then $(MAKE) --no-print-directory $(NODE_STAMP); fi

## make run: embedded PostgreSQL (when DATABASE_URL is unset), migrations, demo data, the FinCra
## simulator (when no FinCra keys are set), the job worker, and the server. Its ports are checked
## first: PORT (the server, 8000) and FINCRA_SIMULATOR_PORT (8001), e.g. make run PORT=8010.
run: export DEBUG ?= true
run: install
	$(PY) manage.py check_ports --host $(HOST) --port $(PORT) --simulator-port $(FINCRA_SIMULATOR_PORT)
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	@echo "Amani: http://$(HOST):$(PORT)/   API docs: http://$(HOST):$(PORT)/api/v1/docs/   Admin: http://$(HOST):$(PORT)/admin/"
	$(PY) manage.py fincra_simulator --if-simulated --port $(FINCRA_SIMULATOR_PORT) \
	    --webhook-url http://$(HOST):$(PORT)/api/v1/webhooks/fincra/ & simulator=$$!; \
	$(PY) manage.py procrastinate worker & worker=$$!; \
	trap 'kill $$simulator $$worker 2>/dev/null' EXIT INT TERM; \
	$(PY) manage.py runserver $(HOST):$(PORT)

## make test: the whole suite, against the embedded PostgreSQL or DATABASE_URL.
test: install node-tools
	$(PY) -m pytest $(PYTEST_ARGS)

## make bench: the time from a FinCra webhook's receipt to our 2xx and from a state change to its
## outbound webhook; then (bench/run.py) the read path against the database's own speed, RLS on/off,
## the write path, a mixed escrow workload and connection costs, on databases of their own.
## BENCH_SCALE=1m adds the 1M-project database. Needs wrk (apt-get install wrk).
bench: install
	$(PY) bench/webhook_ack.py
	$(PY) bench/webhook_delay.py
	$(PY) bench/run.py

lint: install
	$(VENV)/bin/ruff check amani escrow tests

## make migrate: as `make run` does (DEBUG on unless set). In production run manage.py migrate
## with the production environment.
migrate: export DEBUG ?= true
migrate: install
	$(PY) manage.py migrate --noinput

## make db-stop: stop the embedded PostgreSQL (it keeps running between commands otherwise).
db-stop: install
	$(PY) -c "from pathlib import Path; from amani.embedded_db import stop; print('stopped' if stop(Path('.data/pg').resolve()) else 'not running')"

clean:
	rm -rf $(VENV) .pytest_cache $(CLIENTS)/node_modules
