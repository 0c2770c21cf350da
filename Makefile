# aws-sso-credential-process: the script itself needs nothing but Python. These
# targets put the test tools (boto3, the real SDK on the other side) in local
# virtualenvs under .venv/, so a fresh machine needs only `make test`.
#
#   make test    run the suite under every CPython 3.8-3.13 found on this machine
#   make demo    boto3 getting credentials through the script (local stand-in)
#   make bench   cache-hit cost against a bare interpreter and the older tools
#   make lint    parse under every interpreter, then pyflakes

SHELL := /bin/bash
PYENV_ROOT ?= $(HOME)/.pyenv
VERSIONS ?= 3.8 3.9 3.10 3.11 3.12 3.13
# The interpreter for demo, bench and lint: python3 on PATH, resolved past any shim.
PYTHON ?= $(shell python3 -c 'import sys; print(sys.executable)')
VENV := .venv
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' aws_sso_credential_process.py)

# Shell helpers shared by the recipes.
#  find_python V      newest ~/.pyenv/versions/V.*/bin/python3, else pythonV on PATH
#  dev_reqs V         dev-only packages for Python V (boto3 left 3.8 at 1.37, 3.9 at 1.42)
#  ensure_venv D P R  virtualenv D from interpreter P holding packages R, rebuilt when R changes
HELPERS = \
  find_python() { local p; p=$$(ls -d $(PYENV_ROOT)/versions/$$1.*/bin/python3 2>/dev/null | sort -V | tail -n 1); \
    [ -n "$$p" ] || p=$$(command -v python$$1 2>/dev/null); echo "$$p"; }; \
  dev_reqs() { case $$1 in 3.8) echo boto3==1.37.38;; 3.9) echo boto3==1.42.97;; *) echo boto3==1.44.8;; esac; }; \
  ensure_venv() { local d=$$1 p=$$2; shift 2; \
    if [ ! -x $$d/bin/python ] || [ "$$(cat $$d/.requirements 2>/dev/null)" != "$$*" ]; then \
      rm -rf $$d && $$p -m venv $$d && \
      $$d/bin/python -m pip install -qq --disable-pip-version-check "$$@" && echo "$$*" > $$d/.requirements; \
    fi; }

.PHONY: test demo bench lint version clean

test:
	@$(HELPERS); failed=""; passed=""; skipped=""; \
	for v in $(VERSIONS); do \
	  py=$$(find_python $$v); \
	  if [ -z "$$py" ]; then skipped="$$skipped $$v"; continue; fi; \
	  echo "=== Python $$v: $$py"; \
	  ensure_venv $(VENV)/$$v $$py $$(dev_reqs $$v) || { failed="$$failed $$v(setup)"; continue; }; \
	  if $(VENV)/$$v/bin/python -m unittest test_script; then passed="$$passed $$v"; else failed="$$failed $$v"; fi; \
	done; \
	echo "=== passed:$${passed:- none}"; \
	[ -z "$$skipped" ] || echo "=== skipped, no interpreter found:$$skipped"; \
	[ -n "$$passed$$failed" ] || { echo "=== FAILED: no Python 3.8-3.13 found"; exit 1; }; \
	[ -z "$$failed" ] || { echo "=== FAILED:$$failed"; exit 1; }

demo:
	@$(HELPERS); ensure_venv $(VENV)/default $(PYTHON) boto3==1.44.8 pyflakes==3.4.0
	@$(VENV)/default/bin/python test_script.py demo

bench:
	@$(HELPERS); ensure_venv $(VENV)/bench $(PYTHON) boto3==1.44.8 \
	  aws-sso-credential-process==0.3.1 aws-sso-util==4.33.0
	@$(VENV)/bench/bin/python test_script.py bench

lint:
	@$(HELPERS); for v in $(VERSIONS); do py=$$(find_python $$v); [ -z "$$py" ] || \
	  $$py -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' aws_sso_credential_process.py \
	  || { echo "aws_sso_credential_process.py does not parse under Python $$v"; exit 1; }; done
	@$(HELPERS); ensure_venv $(VENV)/default $(PYTHON) boto3==1.44.8 pyflakes==3.4.0
	@$(VENV)/default/bin/python -m pyflakes aws_sso_credential_process.py test_script.py && echo "lint: ok"

version:
	@echo $(VERSION)

clean:
	rm -rf $(VENV) __pycache__
