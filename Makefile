# Neutrino developer entry points (GNU make).
#
#   make run            venv, database schema, then the API server on 127.0.0.1:9696
#                       (as root also this host's agents: the all-in-one)
#   make test           venv, services, lint, then the whole test suite
#   make conformance    upstream's API tests (tempest) against Neutrino + Keystone
#   make help           everything else
#
# Works on a fresh Debian machine: as root, missing Debian packages (python3,
# python3-venv, ...) are installed with apt-get.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

# Debian packages the tests or the server need beyond Python itself; installed
# (when root and missing) by `make venv`. The agents' dataplane: iproute2,
# iptables + ipset (firewall), dnsmasq-base (DHCP; no system service), and for
# tests/dataplane isc-dhcp-client and iputils-ping (a "VM" asking for an address,
# pinging).
# openvswitch-switch: the Open vSwitch agent and its OpenFlow firewall (userspace
# datapath). VPNaaS (L3 agent, agent/l3/vpn/): strongSwan's charon and swanctl,
# kernel-libipsec (libcharon-extra-plugins: userspace ESP, the kernel has none),
# openssl/gcm plugins.
DEBIAN_PACKAGES ?= iproute2 iptables ipset nftables conntrack dnsmasq-base isc-dhcp-client iputils-ping radvd keepalived haproxy openvswitch-switch strongswan-charon strongswan-swanctl libcharon-extra-plugins libstrongswan-standard-plugins
# Only the tests need these (large: installed by `make test`, not `make venv`/`make run`):
# chromium for the pages' browser tests (tests/ui, driven over the DevTools protocol).
TEST_DEBIAN_PACKAGES ?= chromium

# `make run CONFIG="--config-file a.conf --config-file b.conf"`
CONFIG ?= --config-file etc/neutrino.conf
# `make test PYTEST_ARGS="-x -k subnet"`
PYTEST_ARGS ?=
# `make test` runs on two xdist workers: one takes the tests that use this host's kernel
# and agents, in order, the other the rest (tests/conftest.py, "parallel runs").
# `make test PYTEST_PARALLEL=` runs everything in one process.
PYTEST_PARALLEL ?= -n 2 --dist loadscope --no-loadscope-reorder

# Directories ruff checks (those that exist: bench/ may not yet).
LINT_PATHS := $(wildcard src tests bench)

# The venv is rebuilt whenever pyproject.toml or DEBIAN_PACKAGES change.
VENV_HASH  := $(shell { cat pyproject.toml; echo '$(DEBIAN_PACKAGES)'; } | sha256sum | cut -c1-16)
VENV_STAMP := $(VENV)/.installed-$(VENV_HASH)

# `make conformance`: Keystone and tempest in venvs of their own under .conformance/,
# each rebuilt when its requirement or constraint file changes (conformance/lock.sh).
CONFORMANCE_DIR ?= .conformance
KEYSTONE_VENV   := $(CONFORMANCE_DIR)/keystone-venv
TEMPEST_VENV    := $(CONFORMANCE_DIR)/tempest-venv
KEYSTONE_STAMP  := $(KEYSTONE_VENV)/.installed-$(shell cat conformance/*-keystone.txt | sha256sum | cut -c1-16)
TEMPEST_STAMP   := $(TEMPEST_VENV)/.installed-$(shell cat conformance/*-tempest.txt | sha256sum | cut -c1-16)

.PHONY: help venv run test lint unit bench bench-dataplane sample-config services clean \
        bench-scale \
        conformance conformance-venvs

help:
	@echo "Neutrino make targets:"
	@echo "  make run            start the API server (CONFIG='$(CONFIG)')"
	@echo "  make test           services + lint + full test suite (PYTEST_ARGS=...)"
	@echo "  make unit           unit tests only"
	@echo "  make conformance    tempest + neutron-tempest-plugin API tests against Neutrino"
	@echo "                     with Keystone and PostgreSQL; diff against"
	@echo "                     conformance/expected-failures.txt (CONFORMANCE_EXTENSIONS="
	@echo "                     server|neutron29, CONFORMANCE_REGEX=..., CONFORMANCE_AGENTS=none)"
	@echo "  make lint           ruff check $(LINT_PATHS)"
	@echo "  make bench          API benchmark (bench/api.py)"
	@echo "  make bench-dataplane  port/rule/resync latencies on a host (root; bench/dataplane.py)"
	@echo "  make bench-scale    N simulated hosts x M ports over RabbitMQ (bench/scale.py)"
	@echo "  make sample-config  regenerate etc/neutrino.conf from the option definitions"
	@echo "  make services       start PostgreSQL/MariaDB/RabbitMQ if they are down"
	@echo "  make venv           create/refresh $(VENV)"
	@echo "  make clean          remove $(VENV), state/ and $(CONFORMANCE_DIR)/"
	@echo "  make install        venv in PREFIX=/opt/neutrino, /etc/neutrino (existing files"
	@echo "                     kept), systemd units; DESTDIR=... stages (scripts/install.sh)"

venv: $(VENV_STAMP)

$(VENV_STAMP):
	scripts/install-debian-deps.sh $(DEBIAN_PACKAGES)
	scripts/ensure-python.sh $(PYTHON)
	if ! $(BIN)/python -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then \
	    rm -rf $(VENV); \
	    $(PYTHON) -m venv $(VENV); \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $@

run: venv
	mkdir -p state
	$(BIN)/neutrino-db-manage $(CONFIG) upgrade head
	exec $(BIN)/neutrino-server $(CONFIG)

services:
	scripts/ensure-services.sh

test: venv
	scripts/install-debian-deps.sh $(TEST_DEBIAN_PACKAGES)
	scripts/ensure-services.sh
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

lint: venv
	$(BIN)/ruff check $(LINT_PATHS)

unit: venv
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

bench: venv
	$(BIN)/python bench/api.py

# Root: namespaces; RabbitMQ (started if down).
bench-dataplane: venv
	NEUTRINO_SERVICES=rabbitmq scripts/ensure-services.sh
	$(BIN)/python bench/dataplane.py

# Simulated agents over RabbitMQ (a vhost of its own) against one server; no root.
# BENCH_SCALE_ARGS="--hosts 200 --ports 50 --backend postgresql"
bench-scale: venv
	NEUTRINO_SERVICES="rabbitmq postgresql" scripts/ensure-services.sh
	$(BIN)/python bench/scale.py $(BENCH_SCALE_ARGS)

# The generator writes the default of state_path as an absolute path under
# the current directory; the committed sample says ./state instead.
sample-config: venv
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-linuxbridge-agent.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-dhcp-agent.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-l3-agent.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-metadata-agent.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-metering-agent.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-lbaas-agent.conf
	$(BIN)/oslo-config-generator --config-file etc/oslo-config-generator-openvswitch-agent.conf
	sed -i -e 's|^#state_path = $(CURDIR)/state$$|#state_path = ./state|' etc/neutrino.conf
	$(BIN)/oslopolicy-sample-generator --namespace neutrino --output-file etc/policy.yaml.sample

conformance-venvs: $(KEYSTONE_STAMP) $(TEMPEST_STAMP)

$(KEYSTONE_STAMP):
	conformance/make-venv.sh $(PYTHON) $(KEYSTONE_VENV) conformance/requirements-keystone.txt \
	    conformance/constraints-keystone.txt $@

$(TEMPEST_STAMP):
	conformance/make-venv.sh $(PYTHON) $(TEMPEST_VENV) conformance/requirements-tempest.txt \
	    conformance/constraints-tempest.txt $@

# Starts Keystone, Neutrino (PostgreSQL, 2 workers, RabbitMQ; agents as root) and runs
# tempest; everything it starts is stopped again (conformance/run.py).
conformance: venv conformance-venvs
	KEYSTONE_VENV=$(KEYSTONE_VENV) TEMPEST_VENV=$(TEMPEST_VENV) \
	    $(BIN)/python conformance/run.py

clean:
	rm -rf $(VENV) state $(CONFORMANCE_DIR)

# Operators (issue 15): binaries in a venv at PREFIX, configuration in SYSCONFDIR
# (existing files kept), systemd units in UNITDIR pointing at both; DESTDIR stages.
# No `venv` prerequisite: it installs from this tree with $(PYTHON), not from .venv.
.PHONY: install
install:
	PYTHON=$(PYTHON) scripts/install.sh

# Root; RabbitMQ (started if down). One host with 1,000 ports (veth pairs, no VM
# namespaces) and a real Linux bridge agent: first sync, no-op and restart resyncs, a
# rule change on every port, a remote-group member added (issue 17).
# `make bench-dataplane` is the per-port latency benchmark (bench/dataplane.py).
# BENCH_DATAPLANE_SCALE_ARGS="--ports 500 --rounds 5"
.PHONY: bench-dataplane-scale
bench-dataplane-scale: venv
	NEUTRINO_SERVICES=rabbitmq scripts/ensure-services.sh
	$(BIN)/python bench/dataplane_scale.py $(BENCH_DATAPLANE_SCALE_ARGS)
