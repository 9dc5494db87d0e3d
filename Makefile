# Two commands set everything up on a fresh machine: `make run` (the main job) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint setup system-deps morph-kgc bench clean identifiers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

# The editor's front-end packages (web/package.json, locked in web/package-lock.json), built into the Python
# package: the server then loads nothing from a CDN.
VENDOR := converter/static/vendor
$(VENDOR)/.built: web/package.json web/package-lock.json web/build.py
	$(PYTHON) web/build.py
	touch $@

setup: $(STAMP) $(VENDOR)/.built

# rapper (Debian's raptor2-utils) is the independent RDF parser the tests check every dump with; Virtuoso
# (virtuoso-opensource) is the external triplestore the publish tests start; Chromium is the browser the web
# page tests drive (through Playwright, which is told where it is and downloads no browser).
system-deps:
	@command -v rapper >/dev/null 2>&1 && command -v virtuoso-t >/dev/null 2>&1 && command -v chromium >/dev/null 2>&1 || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq raptor2-utils \
	    virtuoso-opensource chromium >/dev/null; }

# The main job: convert and validate the bundled examples, build the embedded store, serve it at /sparql.
run: setup
	$(BIN)/pfocr-rdf convert examples/pfocr -o output --validate
	$(BIN)/pfocr-rdf load output/pfocr.nt --store output/store
	$(BIN)/pfocr-rdf serve --store output/store

# Morph-KGC, one of the benchmark's baselines, in an environment of its own (it pins an old pyoxigraph); the tests
# check that it writes the converter's graph (tests/test_baselines.py).
morph-kgc: $(STAMP)
	$(BIN)/python benchmarks/baselines.py install-morph >/dev/null

# The gates before the tests: ruff's checks and mypy's strict types, both configured in pyproject.toml
lint: $(STAMP)
	$(BIN)/ruff check converter tests benchmarks
	$(BIN)/mypy converter

test: setup lint system-deps morph-kgc
	$(BIN)/python -m pytest -q -n auto --dist loadfile

# Renew the copy of the Bioregistry data (patterns, bananas, identifiers.org prefixes) after upgrading bioregistry.
identifiers: $(STAMP)
	$(BIN)/python -c 'import json; from converter.records.identifiers import snapshot; text = json.dumps(snapshot(), \
	  indent=2, ensure_ascii=False); open("converter/data/identifiers.json", "w").write(text + "\n")'

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf output .pytest_cache .hypothesis .mypy_cache .ruff_cache web/node_modules $(VENDOR)
