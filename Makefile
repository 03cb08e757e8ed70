# Set-up is part of every target: .venv is (re)built when missing or when the lock changed.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
LOCK_HASH := $(shell cat requirements.lock pyproject.toml | sha256sum | cut -c1-16)
STAMP := $(VENV)/.installed-$(LOCK_HASH)

.PHONY: demo test install bench clean

demo: $(STAMP)
	$(VENV)/bin/sluice run census

test: $(STAMP)
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

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
