# Two commands for a fresh clone: `make demo` and `make test` (Python 3.11+ only).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint docs bench clean clean-demo

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
	$(BIN)/publisher send hebdo
	$(BIN)/publisher send mes-sujets
	@echo
	@echo "Done. Look at:"
	@echo "  feeds/           RSS, Atom and JSON feeds (open feeds/index.html)"
	@echo "  outbox/          one .eml file per message sent with the outbox transport"
	@echo "  publisher.db     the SQLite store (publisher status, publisher articles list)"
	@echo
	@echo "Next, in your shell (docs/getting-started.md):"
	@echo "  . .venv/bin/activate"
	@echo "  publisher status"
	@echo "  publisher serve     # then open http://127.0.0.1:8000/ (/admin/: user admin, password in secrets.env)"
	@echo "The secrets (PUBLISHER_SECRET, PUBLISHER_ADMIN_PASSWORD) are in secrets.env, which every command reads."

test: $(BIN)/publisher
	$(BIN)/pytest

lint: $(BIN)/publisher
	$(BIN)/ruff check publisher tests bench
	$(BIN)/ruff format --check publisher tests bench

# The docs/ pages as an HTML site in site/ (open site/index.html); fails on a broken link.
docs: $(BIN)/publisher
	$(BIN)/mkdocs build --strict --site-dir site

# What `make demo` made (the store, feeds, outbox, previews), to run the demo again from scratch.
clean-demo:
	rm -rf feeds/*.xml feeds/*.json feeds/*.opml feeds/*.html feeds/tags outbox previews publisher.db*

clean: clean-demo
	rm -rf $(VENV) site
