# The two commands of a newcomer on a fresh Debian machine:
#   make demo   installs what is missing, builds the guest, runs a real job
#   make test   the whole suite (lint, unit, end-to-end on a real QEMU guest)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Debian packages the lab needs on this host (QEMU without its GUI recommends).
APT_PACKAGES := qemu-system-x86 busybox-static cpio git xz-utils bzip2 zstd gzip ca-certificates
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=

.PHONY: all deps venv bytecode guest demo test lint format check clean

all: demo

deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if ! $(PYTHON) -c 'import ensurepip, venv' 2>/dev/null; then missing="$$missing python3-venv"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing; \
	else echo "==> Debian packages: all present"; fi

$(BIN)/.installed: pyproject.toml
	@echo "==> creating the virtual environment $(VENV)/"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -q --upgrade pip
	@$(BIN)/pip install -q -e '.[dev]'
	@touch $@

# Bytecode as an installed package has it: lava-run starts ~0.1 s faster, even
# where PYTHONDONTWRITEBYTECODE keeps Python from writing it by itself.
bytecode: $(BIN)/.installed
	@$(BIN)/python -m compileall -q src

venv: $(BIN)/.installed

guest: deps venv
	@$(BIN)/python tools/guest/build-guest --print-dir >/dev/null

demo: deps venv bytecode guest
	@$(BIN)/python tools/demo.py

lint: venv
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench

format: venv
	$(BIN)/ruff check --fix src tests tools bench
	$(BIN)/ruff format src tests tools bench

test: deps venv bytecode guest lint
	$(BIN)/pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo-output
