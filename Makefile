# The two commands of a newcomer on a fresh Debian machine:
#   make demo   installs what is missing, builds the guest, runs a real job
#   make test   the whole suite (lint, unit, end-to-end on a real QEMU guest)

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The emulated U-Boot board (tools/board): QEMU for arm64 and Debian's U-Boot for
# it, ser2net as its console server, telnet to reach it, mkimage for U-Boot headers.
BOARD_PACKAGES := qemu-system-arm u-boot-qemu ser2net inetutils-telnet u-boot-tools
# Debian packages the lab needs on this host (QEMU without its GUI recommends),
# nginx (the lab's front, which reads each request whole before gunicorn does:
# tools/front.py; the lab runs its own, unprivileged) and Debian's own (older)
# lavacli, which the API tests drive beside the newest one. The web pages' CSS and
# charts come from Debian's libjs packages, served by the lab itself (a lab often
# has no internet); Debian's chromium runs the pages' browser tests.
APT_PACKAGES := qemu-system-x86 busybox-static cpio git xz-utils bzip2 zstd gzip ca-certificates \
	nginx lavacli libjs-bootstrap5 libjs-chart.js chromium $(BOARD_PACKAGES)
# Building the Debian packages (debian/control's Build-Depends, lintian) and the clean
# Debian roots their tests install them on (tests/packaging): `make deb` installs them.
DEB_PACKAGES := debhelper dh-python python3-pip dpkg-dev fakeroot lintian mmdebstrap curl
# The board's optional PDU. Debian's pdudaemon starts a service listening on every
# address, so only CI (where its tests must run) installs it; elsewhere they skip.
# CI also runs the package tests, which need the packaging tools.
CI_PACKAGES := $(if $(filter true,$(CI)),pdudaemon $(DEB_PACKAGES))
# `make board BOARD_ARGS="--pdu --name sim-arm64-02"`: options of `python -m tools.board`.
BOARD_ARGS ?=
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PYTEST_ARGS ?=
# The server tests run a second time on PostgreSQL (CI: this server, user postgres, trust).
PG_TEST_URL ?= postgresql://postgres@127.0.0.1:5432/lava

.PHONY: all deps venv bytecode guest demo stop board board-stop test test-postgresql \
	test-postgresql-and-packaging test-packaging lint format check clean deb deb-deps

all: demo

deps:
	@missing=""; for p in $(APT_PACKAGES) $(CI_PACKAGES); do \
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

# Both guests: amd64 for the qemu device, arm64 for the emulated U-Boot board (its
# packages need dpkg's arm64 architecture, added once).
guest: deps venv
	@$(BIN)/python tools/guest/build-guest --print-dir >/dev/null
	@if [ "$$(dpkg --print-architecture)" != arm64 ] && \
	  ! dpkg --print-foreign-architectures | grep -qx arm64; then \
	  echo "==> adding dpkg's arm64 architecture (the emulated board's guest)"; \
	  $(SUDO) dpkg --add-architecture arm64 && $(SUDO) apt-get update -q; \
	fi
	@$(BIN)/python tools/guest/build-guest --arch arm64 --print-dir >/dev/null

demo: deps venv bytecode guest
	@BOARD=$(BOARD) $(BIN)/python -m tools.demo

# Stop the web server, scheduler and worker that `make demo` left running.
stop:
	@$(BIN)/python -m tools.demo_server stop

# An emulated U-Boot board on this host (tools/board/README.md): prints its console,
# power commands and device dictionary. It stays up until `make board-stop`.
board: deps venv guest
	@$(BIN)/python -m tools.board setup $(BOARD_ARGS)

board-stop: venv
	@$(BIN)/python -m tools.board teardown $(BOARD_ARGS)

lint: venv
	$(BIN)/ruff check src tests tools bench
	$(BIN)/ruff format --check src tests tools bench

format: venv
	$(BIN)/ruff check --fix src tests tools bench
	$(BIN)/ruff format src tests tools bench

test: deps venv bytecode guest lint
	$(BIN)/pytest $(PYTEST_ARGS) --ignore=tests/packaging
	@$(MAKE) --no-print-directory test-postgresql-and-packaging

# The package tests (Debian roots: mostly apt and dpkg waiting on the network and the
# disk, 11 minutes) run beside the PostgreSQL run, their output printed once they end.
test-postgresql-and-packaging: venv
	@log=$$(mktemp); \
	echo "==> package tests, beside the PostgreSQL run (output below when they end)"; \
	$(BIN)/pytest $(PYTEST_ARGS) tests/packaging > $$log 2>&1 & packaging=$$!; \
	$(MAKE) --no-print-directory test-postgresql; postgresql=$$?; \
	wait $$packaging; status=$$?; \
	echo "==> package tests (tests/packaging)"; cat $$log; rm -f $$log; \
	[ $$postgresql = 0 ] && [ $$status = 0 ]

test-packaging: venv
	$(BIN)/pytest $(PYTEST_ARGS) tests/packaging

# The same server tests, on PostgreSQL. Required in CI; skipped with a notice
# on a machine without a reachable server.
test-postgresql: venv
	@if $(BIN)/python tools/postgres.py "$(PG_TEST_URL)"; then \
	  echo "==> server tests on PostgreSQL ($(PG_TEST_URL))"; \
	  LAVA_TEST_DATABASE_URL="$(PG_TEST_URL)" $(BIN)/pytest $(PYTEST_ARGS) tests/server; \
	elif [ "$$CI" = true ]; then \
	  echo "CI needs PostgreSQL at $(PG_TEST_URL)" >&2; exit 1; \
	else \
	  echo "==> PostgreSQL not reachable: skipped the PostgreSQL run of tests/server"; \
	fi

# The Debian packages lava, lava-server, lava-dispatcher, lava-common, built from this
# checkout into $(DEB_DIR)/ (docs/admin-guide.md: install them with apt-get install).
DEB_DIR ?= build/deb
deb-deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "==> installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -q && \
	  $(SUDO) apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing; \
	fi

deb: deb-deps venv
	@$(BIN)/python -m tools.debian $(DEB_DIR)

clean:
	rm -rf build $(VENV) .pytest_cache .ruff_cache demo-output demo-instance
