# The README's two commands: `make run` and `make test`. Everything else is a step they call.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PORT ?= 8000
HOST ?= 127.0.0.1
export PORTAL_PORT ?= $(PORT)
export PORTAL_HOST ?= $(HOST)
export PORTAL_BASE_URL ?= http://$(HOST):$(PORT)
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
export PORTAL_API_URL ?= $(PORTAL_BASE_URL)
# trained models are cached outside the checkout, keyed by a hash of their inputs, so a fresh
# clone (CI) reuses a model trained from identical data
export CHATBOT_MODEL_CACHE ?= $(HOME)/.cache/eservices-portal/chatbot-models

UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synced

# The portal defaults to production (a deployment that forgets PORTAL_ENVIRONMENT gets no dev mail,
# no payment sandbox, no dev secrets). Development is asked for here, by the targets that serve the
# demo on this machine, and inherited by their prerequisites; an explicit PORTAL_ENVIRONMENT wins.
run serve demo migrate check-definitions pki mailsink-start worker-start chatbot-run chatbot-start-bg chatbot-e2e: \
  export PORTAL_ENVIRONMENT ?= development
# development-only shared secret between the portal and the assistant's actions (production refuses it;
# not exported to `make test` or `make bench`, whose portals run as test/production)
run serve chatbot-run chatbot-start-bg: export PORTAL_SERVICE_TOKEN ?= dev-service-token

.PHONY: vendor-fonts help run test test-sqlite test-pg test-dates lint typecheck i18n i18n-extract migrate demo sysdeps uv bench serve check-definitions

help:
	@echo "make run   — set up everything and serve the portal with demo data on http://$(HOST):$(PORT)"
	@echo "make test  — set up everything and run all tests (SQLite, then PostgreSQL when reachable)"

uv:
	@command -v uv >/dev/null 2>&1 || test -x $(HOME)/.local/bin/uv || \
	  (echo "installing uv from PyPI"; python3 -m pip install --user --quiet uv || pip3 install --quiet uv)

$(STAMP): pyproject.toml uv.lock | uv
	$(UV) sync --frozen --python ">=3.11,<3.14"
	@touch $(STAMP)

# System packages the PDF, browser and date tests need (Debian/Ubuntu, as root). Elsewhere: a hint.
sysdeps:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v pdftotext >/dev/null 2>&1 || missing="$$missing poppler-utils"; \
	command -v faketime >/dev/null 2>&1 || missing="$$missing faketime"; \
	fc-list 2>/dev/null | grep -qi "noto\|dejavu" || missing="$$missing fonts-noto-core fonts-dejavu-core"; \
	ldconfig -p 2>/dev/null | grep -q libpango-1.0 || missing="$$missing libpango-1.0-0 libpangoft2-1.0-0"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "please install:$$missing (e.g. sudo apt-get install$$missing)"; fi; \
	fi

i18n: $(STAMP)
	@$(VENV)/bin/pybabel compile -d portal/locale -D messages >/dev/null

i18n-extract: $(STAMP)
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k gettext -k pgettext:1c,2 --no-location -o portal/locale/messages.pot .
	$(VENV)/bin/pybabel update -i portal/locale/messages.pot -d portal/locale -D messages --no-fuzzy-matching

check-definitions: $(STAMP)
	$(PY) -m portal.cli definitions check

migrate: $(STAMP)
	$(PY) -m portal.cli db upgrade

demo: migrate
	$(PY) -m portal.cli seed-demo

-include chatbot/Makefile.inc
-include portal/Makefile.inc

# The assistant builds its venv and trains (first time: a few minutes) in the background; until it
# answers, the chat widget says it is temporarily unavailable and offers search and the hotline.
chatbot-start-bg:
	@mkdir -p var/log
	@echo "assistant: building/training/starting in the background (log var/log/chatbot.log)"
	@nohup $(MAKE) --no-print-directory chatbot-run > var/log/chatbot.log 2>&1 &

run: $(STAMP) sysdeps i18n check-definitions demo $(RUN_DEPS) chatbot-start-bg
	@echo "Portal: $(PORTAL_BASE_URL)   (demo logins: see README)"
	$(PY) -m portal.cli serve --host $(HOST) --port $(PORT)

serve: $(STAMP) i18n
	$(PY) -m portal.cli serve --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(VENV)/bin/ruff check portal workflows payments tests bench
	$(VENV)/bin/ruff format --check portal workflows payments tests bench

typecheck: $(STAMP)
	$(VENV)/bin/mypy

test-sqlite: $(STAMP) sysdeps i18n
	PORTAL_TEST_DATABASE_URL= $(VENV)/bin/pytest -q -p no:cacheprovider

# The non-browser SQLite suite again under libfaketime (Debian `faketime`): 400 days after today, then
# on the next first day of Tết at 10:00 in Vietnam (tests/tet_day.py). No test may depend on the wall
# clock. The real monotonic clock is kept: libfaketime 0.9.10 hangs Python's timed thread waits when it
# fakes it (and, with it kept, breaks Python ≥ 3.11's time.sleep — wolfcw/libfaketime#426 — so the
# suite waits on threading.Event instead). One run after the other: they share no files (each pytest
# process has its own tmp dir) but the machine's cores.
FAKETIME_PYTEST := PORTAL_TEST_DATABASE_URL= FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f
test-dates: $(STAMP) sysdeps i18n
	$(FAKETIME_PYTEST) '+400d' $(VENV)/bin/pytest -q -p no:cacheprovider -m 'not browser'
	tet="$$($(PY) -m tests.tet_day)" && echo "Tết: faketime -f '$$tet'" && \
	  $(FAKETIME_PYTEST) "$$tet" $(VENV)/bin/pytest -q -p no:cacheprovider -m 'not browser'

test-pg: $(STAMP) sysdeps i18n
	@if $(PY) -c "import psycopg,sys; psycopg.connect('$(PG_TEST_URL)'.replace('+psycopg',''), connect_timeout=3).close()" 2>/dev/null; then \
	  PORTAL_TEST_DATABASE_URL=$(PG_TEST_URL) $(VENV)/bin/pytest -q -p no:cacheprovider; \
	elif [ -n "$$REQUIRE_POSTGRES" ]; then echo "PostgreSQL at $(PG_TEST_URL) is required but unreachable"; exit 1; \
	else echo "PostgreSQL not reachable at $(PG_TEST_URL): PostgreSQL suite not run (set PG_TEST_URL)"; fi

# The real assistant end to end: the portal's relay → Rasa → action server → a portal served by the
# test on E2E_PORT. The action server authenticates with the test suite's service token.
E2E_PORT ?= 8765
chatbot-e2e: $(STAMP) i18n chatbot-venv
	PORTAL_API_URL=http://127.0.0.1:$(E2E_PORT) PORTAL_SERVICE_TOKEN=test-service-token bash chatbot/scripts/run.sh
	CHATBOT_E2E=1 CHATBOT_E2E_PORTAL_URL=http://127.0.0.1:$(E2E_PORT) $(VENV)/bin/pytest -q -p no:cacheprovider \
	  -m chatbot tests/assistant; rc=$$?; bash chatbot/scripts/stop.sh; exit $$rc

test: check-definitions lint typecheck test-sqlite test-dates test-pg chatbot-test chatbot-e2e $(TEST_DEPS)

bench: $(STAMP)
	$(PY) bench/run.py

stop: ## stop the background processes `make run` started
	-@$(MAKE) --no-print-directory bg-stop chatbot-stop 2>/dev/null

# Maintainers only (not part of run/test; the result is committed): the official documents' font,
# Tinos (metric-compatible with Times New Roman, which Decree 30/2020/NĐ-CP asks for), from the pinned
# npm package, subset to Latin + Vietnamese so the PDFs lay out the same on every machine whatever
# fonts it has installed. See portal/static/vendor/README.md.
TINOS_PKG := @expo-google-fonts/tinos@0.4.2
FONT_DIR := portal/static/vendor/fonts/tinos
FONT_UNICODES := U+0020-007E,U+00A0-00FF,U+0102-0103,U+0110-0111,U+0128-0129,U+0168-0169,U+01A0-01A1,U+01AF-01B0,U+0300-0303,U+0309,U+0323,U+1EA0-1EF9,U+2010-2027,U+2030,U+2116,U+20AB,U+20AC,U+2190-2193,U+2212
vendor-fonts: $(STAMP)
	rm -rf var/vendor-fonts && mkdir -p var/vendor-fonts $(FONT_DIR)
	cd var/vendor-fonts && npm pack --silent $(TINOS_PKG) && tar xzf *.tgz
	for style in 400Regular 400Regular_Italic 700Bold 700Bold_Italic; do \
	  $(VENV)/bin/pyftsubset var/vendor-fonts/package/$$style/Tinos_$$style.ttf --unicodes="$(FONT_UNICODES)" \
	    --layout-features='kern,liga,ccmp,mark,mkmk' --name-IDs='*' --output-file=$(FONT_DIR)/Tinos-$$style.ttf; \
	done
	cp var/vendor-fonts/package/LICENSE_FONT $(FONT_DIR)/OFL.txt
