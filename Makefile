# Set-up is part of every target: .venv is (re)built when missing or when the lock changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
LOCK_HASH := $(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(LOCK_HASH)

.PHONY: demo test test-fast install bench clean

demo: $(STAMP)
	$(VENV)/bin/sluice run census
	@echo "REST: $(VENV)/bin/sluice serve census, then the curl command at the top of README.md"

# The whole suite on two workers (tests reading the shared census run stay on one); the
# slowest tests are listed at the end so a regression shows.
test: $(STAMP)
	$(VENV)/bin/python -m pytest -n 2 --dist loadgroup --durations=15 $(PYTEST_ARGS)

# The unit tier: no Beam job, no pipeline run.
test-fast: $(STAMP)
	$(VENV)/bin/python -m pytest -m "not e2e and not beam" --durations=5 $(PYTEST_ARGS)

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --disable-pip-version-check -q -c requirements.lock -e '.[dev]'
	touch $(STAMP)

bench: $(STAMP)
	$(VENV)/bin/python bench/transform_overhead.py

clean:
	rm -rf $(VENV) sluice_home
