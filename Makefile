# Two commands for a fresh clone: `make demo` and `make test` (Python 3.11+ only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Signs the links of the demo's emails (outbox only). `publisher serve` and real transports
# refuse it: set your own in production (README « Configuration »).
export PUBLISHER_SECRET ?= demo-secret-not-for-production

.PHONY: demo test lint bench clean

$(BIN)/publisher: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("publisher needs Python 3.11+") if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

demo: $(BIN)/publisher
	$(BIN)/publisher init
	$(BIN)/publisher demo load
	$(BIN)/publisher run-once
	@echo
	@echo "Done. Look at:"
	@echo "  feeds/           RSS, Atom and JSON feeds (open feeds/index.html)"
	@echo "  outbox/          one .eml file per message sent with the outbox transport"
	@echo "  publisher.db     the SQLite store (publisher status, publisher articles list)"

test: $(BIN)/publisher
	$(BIN)/pytest

lint: $(BIN)/publisher
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench

clean:
	rm -rf $(VENV) feeds/*.xml feeds/*.json feeds/*.opml feeds/*.html feeds/tags outbox publisher.db*
