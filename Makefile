# Fresh machine: Python 3.11+, pip, make. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# The authorization server alone until `hospiai dev` lands (MCP server issue).
run: $(STAMP)
	mkdir -p .data
	HOSPIAI_ISSUER=$${HOSPIAI_ISSUER:-http://localhost:9000} \
	HOSPIAI_SECRET_KEY=$${HOSPIAI_SECRET_KEY:-$$(cat .data/dev-secret-key 2>/dev/null || $(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(32))' | tee .data/dev-secret-key)} \
	HOSPIAI_DEFAULT_RESOURCE=$${HOSPIAI_DEFAULT_RESOURCE:-http://localhost:8000/mcp} \
	$(BIN)/hospiai authserver

check: $(STAMP)
	$(BIN)/mypy

test: check
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .data .mypy_cache .pytest_cache
