# The two commands of the quick start:
#   make serve   set everything up, build the index of articles/ if there is none, start the web UI
#   make test    set everything up, the local model (the `llm` extra) included, and run the test suite
#                (what .ci/run runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
#: The `llm` extra (llama-cpp-python builds from source: minutes): the tests need it, `make serve` does not.
LLM_STAMP := $(VENV)/.installed-llm

export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: serve test install install-llm bench bench-generative bench-million clean

serve: $(STAMP)
	$(BIN)/qa serve

test: $(LLM_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

install: $(STAMP)

install-llm: $(LLM_STAMP)

# torch==2.13.0 (the local CPU wheel) first: an unpinned torch pulled in by
# sentence-transformers would be a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,ray]'
	@# The browser test drives Debian's chromium through Playwright (Playwright's own browser download
	@# does not work on these machines); where it cannot be installed, that test skips and says why.
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
		|| echo "chromium could not be installed: the browser tests will be skipped"
	touch $(STAMP)

$(LLM_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,ray,llm]'
	touch $(LLM_STAMP)

bench: $(STAMP)
	$(BIN)/python bench/bench_build.py
	$(BIN)/python bench/run_eval.py
	$(BIN)/python bench/encoders.py
	$(BIN)/python bench/engine.py
	$(BIN)/python bench/citations.py
	$(BIN)/python bench/stories.py
	$(BIN)/python bench/calibrate.py

bench-generative: $(LLM_STAMP)
	$(BIN)/python bench/generative.py

# One million chunks (about 10 GB under bench/out/million and a quarter of an hour to write).
bench-million: $(STAMP)
	$(BIN)/python bench/million.py build
	$(BIN)/python bench/million.py query

clean:
	rm -rf $(VENV) index/default index/default.* index/.default.*
