# Everything installs into .venv; nothing here needs the network beyond package registries.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: install demo serve test lint typecheck system-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first and pinned: the CPU wheel; an unpinned torch would pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

## plotly.js's basic bundle (scatter, bar, pie: a quarter of the full one the plotly wheel ships) from the
## npm registry, at the wheel's plotly.js version (tests/test_assets.py checks it); not kept in git.
## Without npm the pages load the wheel's full bundle.
PLOTLY_JS := 4.1.1
VENDOR    := tracker/web/static/vendor
$(VENDOR)/plotly-basic.min.js:
	@if command -v npm >/dev/null 2>&1; then \
	  tmp=$$(mktemp -d) && (cd $$tmp && npm pack --silent plotly.js-basic-dist-min@$(PLOTLY_JS) >/dev/null) && \
	  tar -xzf $$tmp/plotly.js-basic-dist-min-$(PLOTLY_JS).tgz -C $$tmp && mkdir -p $(VENDOR) && \
	  cp $$tmp/package/LICENSE $(VENDOR)/plotly-basic.LICENSE.txt && \
	  cp $$tmp/package/plotly-basic.min.js $@ && rm -rf $$tmp; \
	else echo "npm missing: the narrative page will load plotly.js's full bundle"; fi

install: $(STAMP) $(VENDOR)/plotly-basic.min.js

## make demo: build the SQLite database from the sample corpus and serve the dashboard.
DEMO := TRACKER_CONFIG=tracker/sample/demo.toml
demo: install
	$(DEMO) $(BIN)/tracker init
	$(DEMO) $(BIN)/tracker import --sample
	$(DEMO) $(BIN)/tracker actors load-rules tracker/sample/aliases.toml
	$(DEMO) $(BIN)/tracker run
	$(DEMO) $(BIN)/tracker info
	@echo "Dashboard: http://127.0.0.1:5000"
	$(DEMO) $(BIN)/tracker serve

serve: install
	$(BIN)/tracker serve

## Debian's Chromium (browser tests) and CJK fonts (Chinese text in screenshots); only when missing.
system-deps:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi wqy || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-wqy-zenhei >/dev/null; \
	  else echo "chromium missing: browser tests will be skipped (run as root or apt-get install chromium)"; fi; }

lint: install
	$(BIN)/ruff check tracker tests bench migrations

## mypy, strict on tracker/ (settings and the reason for each exception in pyproject.toml).
typecheck: install
	$(BIN)/mypy

test: install system-deps lint typecheck
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q --nbmake tests notebooks

bench: install
	$(BIN)/python -m pip install -q -e '.[test,bench]'
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) data tests/artifacts bench/results $(VENDOR)
