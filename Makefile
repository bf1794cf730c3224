# Fresh machine: Python 3.11+, pip, make. Everything else is installed here.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check install clean bench fuzz messages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

# Both services on localhost with demo data (see README "Quick start").
run: $(STAMP)
	$(BIN)/hospiai dev

check: $(STAMP)
	$(BIN)/mypy
	$(BIN)/ruff check .

test: check
	@test -x /usr/bin/chromium || { echo "The browser tests need Debian's chromium: apt-get install chromium (.ci/run does)"; exit 1; }
	$(BIN)/pytest

# The French catalogues (README "Languages"): extract the English text of each service's code
# and templates, and merge it into its .po: a new text gets an empty msgstr to translate there,
# a text no longer used goes. tests/test_messages.py fails until every text is translated.
# The sources of each catalogue are also in tests/test_messages.py. The dates Babel writes in
# the header are dropped: git has them, and they would change each file at every run.
define catalogue
$(BIN)/pybabel -q extract -F babel.cfg --no-location --sort-output --omit-header --no-wrap \
	-o $(VENV)/$(1).pot $(2)
$(BIN)/pybabel -q update -i $(VENV)/$(1).pot -d $(1)/locales -l fr --init-missing --no-wrap \
	--no-fuzzy-matching --ignore-obsolete
sed -i '/^"POT-Creation-Date: \|^"PO-Revision-Date: /d' $(1)/locales/fr/LC_MESSAGES/messages.po
endef
messages: $(STAMP)
	$(call catalogue,authserver,authserver shared/scopes.py)
	$(call catalogue,mcpserver,mcpserver)

# The fuzz suite at length (tests/test_fuzz.py): many more cases, a random seed, the per-endpoint
# figures printed. make test runs it bounded, with a fixed seed.
fuzz: $(STAMP)
	HOSPIAI_FUZZ_EXAMPLES=$${HOSPIAI_FUZZ_EXAMPLES:-1000} HOSPIAI_FUZZ_RANDOM=1 \
		$(BIN)/pytest tests/test_fuzz.py -n 0 -s -q

# Load measurements (not tests); needs wrk and taskset (Debian: apt-get install wrk).
bench: $(STAMP)
	command -v wrk >/dev/null || apt-get install -y wrk
	$(BIN)/python -m benchmarks.run 2>&1 | grep -v "Error calling tool"

clean:
	rm -rf $(VENV) .data .mypy_cache .pytest_cache
