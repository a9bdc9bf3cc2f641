# Two commands for a fresh machine: `make run` (the console on SQLite) and `make test` (the whole suite).
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PYTHON ?= python3

.PHONY: run serve test install install-test chromium lint pytest bench clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	@$(PY) manage.py ensure_admin --port $(PORT)
	$(PY) manage.py runserver 127.0.0.1:$(PORT) --nostatic

# Production: the server config/serve.py names (README, "Production"), $(WEB_CONCURRENCY) workers on $BIND,
# with config/gunicorn.py (the workers' metrics added up, the audit webhook's sender, the access log);
# set DATABASE_URL, REDIS_URL and DJANGO_SECRET_KEY.
WEB_CONCURRENCY ?= 4
serve: install
	$(PY) manage.py migrate --noinput -v 0
	$(PY) manage.py collectstatic --noinput -v 0
	WEB_CONCURRENCY=$(WEB_CONCURRENCY) PORT=$(PORT) $(PY) -m config.serve

# A Chromium for the browser tests: $CHROMIUM_PATH, else Debian's, else Playwright's own.
chromium: install-test
	@if [ -n "$$CHROMIUM_PATH" ] && [ -x "$$CHROMIUM_PATH" ]; then echo "Chromium: $$CHROMIUM_PATH"; \
	elif [ -x /usr/bin/chromium ]; then echo "Chromium: /usr/bin/chromium"; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)) \
		&& echo "Chromium: installed Debian's /usr/bin/chromium"; \
	else $(PY) -m playwright install chromium; fi

lint: install-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The OpenID Connect provider the sign-in tests start (tests/oidc/provider.mjs), from its lock file.
tests/oidc/node_modules/.installed: tests/oidc/package-lock.json
	npm ci --prefix tests/oidc --no-audit --no-fund --loglevel=error
	touch $@

pytest: install-test tests/oidc/node_modules/.installed
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(PY) -m pytest $(PYTEST_ARGS)

test: chromium lint pytest

# Side-by-side performance figures (BENCHMARKS.md): SQLite always, PostgreSQL too when 127.0.0.1:5432 answers.
# Seeds 1,000- and 100,000-key estates once into benchmarks/.data/; BENCH_LOAD_SECONDS bounds the load run.
# Figure 7 loads the server with wrk (Debian's package, installed here when missing and run as root).
bench: | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[bench]'
	@command -v wrk >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] && \
		(apt-get install -y -qq wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)); } \
		|| echo "wrk is missing: figure 7 will not run (apt-get install wrk)"
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) db.sqlite3 db.sqlite3-* staticfiles test-results
