# BreachDesk. `make run` sets everything up from nothing and starts the service;
# `make test` runs the whole suite; `make check` runs the linters and deploy checks.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check install report-deps system-deps migrate demo clean

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# System packages. Reports (WeasyPrint) need Pango and a font with Arial's metrics;
# the tests also need Chromium for the browser tests and poppler-utils for reading PDFs.
REPORT_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 fonts-liberation
TEST_PACKAGES := chromium poppler-utils

define apt_ensure
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "Install the system packages first: sudo apt-get install$$missing"; exit 1; \
	  fi; \
	fi
endef

report-deps:
	$(call apt_ensure,$(REPORT_PACKAGES))

system-deps: report-deps
	$(call apt_ensure,$(TEST_PACKAGES))

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py seed_demo

run: report-deps demo
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/honcho start -f Procfile

test: install system-deps
	$(BIN)/pytest

check: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/python manage.py makemigrations --check --dry-run
	DJANGO_SETTINGS_MODULE=breachdesk.settings.production DEBUG=0 \
	  SECRET_KEY=check-deploy-$$(printf '%064d' 0 | tr 0 x)-Zq8rT2vL9pW \
	  PSEUDONYM_KEY=check-deploy-pseudonym-key-0123456789abcdef \
	  $(BIN)/python manage.py check --deploy --fail-level WARNING

clean:
	rm -rf $(VENV) var
