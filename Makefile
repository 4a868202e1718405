# Two entry points: `make demo` and `make test`. Both create .venv when it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast install release validate bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	-@scripts/ensure-sandbox  # bubblewrap for the kernel sandbox; without it grading follows sandbox.when_unavailable
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/autograder demo

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q

# The edit loop: everything but the tests marked slow (whole notebooks, validate, training).
test-fast: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -q -m "not slow"

release: $(STAMP)
	$(BIN)/autograder release

validate: $(STAMP)
	$(BIN)/autograder validate

bench: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python bench/grading_overhead.py

clean:
	rm -rf .demo autograded feedback gradebook.db
