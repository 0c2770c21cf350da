# aws-sso-credential-process: the script itself needs nothing but Python. These
# targets put the test tools (boto3 and botocore on the other side, hypothesis
# for fuzzing, coverage, pyflakes) in virtualenvs under .venv/, so a fresh
# machine needs only `make test`.
#
#   make test       the suite on python3 from PATH, in parallel (about 25 s on 2 cores)
#   make test-slow  the suite with every Python it starts 2 s late (CI runs it)
#   make test-all   the suite under every CPython 3.8-3.13 found, plus the
#                   AWS CLI's own code (installs Debian's awscli as root); CI runs it
#   make fuzz       1,000 hostile inputs of each kind (FUZZ_EXAMPLES to change)
#   make coverage   line coverage of the script, subprocess runs included (>= 95%)
#   make demo       boto3 getting credentials through the script (local stand-in)
#   make bench      cache-hit cost against a bare interpreter and the older tools
#   make lint       parse under every interpreter, pyflakes, the layout checks (TestLayout)
#   make sdk-test   the script under every real consumer: boto3, the AWS CLI, the JS
#                   SDKs v2 and v3, the Go SDKs v1 and v2, Ruby (installs them as
#                   root from Debian and npm), by credential_process and through
#                   --exec's and --serve's endpoint (its relative form in a network
#                   namespace, as root); checks docs/reference.md's tables of results
#   make sdk-bench  per consumer, a cache hit through the script vs its own SSO,
#                   and a lookup through the endpoint
#   make install    the command, with python3 from PATH (PREFIX=DIR for --prefix DIR)
#   make uninstall  what make install wrote

SHELL := /bin/bash
PYENV_ROOT ?= $(HOME)/.pyenv
VERSIONS ?= 3.8 3.9 3.10 3.11 3.12 3.13
# The interpreter for test, fuzz, coverage, demo, bench and lint: python3 on PATH, past any shim.
PYTHON ?= $(shell python3 -c 'import sys; print(sys.executable)')
PYTHON_VERSION := $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])')
JOBS ?= 8
FUZZ_EXAMPLES ?= 1000
VENV := .venv
VERSION := $(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' aws_sso_credential_process.py)

# Dev-only packages per Python version (newer releases dropped 3.8 and 3.9).
REQS_3.8 := boto3==1.37.38 hypothesis==6.113.0 pyflakes==3.2.0 coverage==7.6.1
REQS_3.9 := boto3==1.42.97 hypothesis==6.141.1 pyflakes==3.4.0 coverage==7.10.7
REQS_3.10 := boto3==1.44.8 hypothesis==6.168.5 pyflakes==3.4.0 coverage==7.10.7
REQS := boto3==1.44.8 hypothesis==6.170.17 pyflakes==3.4.0 coverage==7.10.7
reqs = $(or $(REQS_$(1)),$(REQS))
# The newest ~/.pyenv/versions/V.*/bin/python3, else pythonV on PATH, else nothing.
python_for = $(or $(shell ls -d $(PYENV_ROOT)/versions/$(1).*/bin/python3 2>/dev/null | sort -V | tail -n 1),$(shell command -v python$(1)))
# Requirements that must be present, not skipped, when the whole matrix runs.
REQUIRE := botocore,hypothesis,awscli,fish

.PHONY: test test-slow test-all fuzz coverage demo bench lint awscli sdk-apt sdk-test sdk-readme sdk-bench install uninstall \
	version clean

# The SDK matrix's consumers: Debian packages (the Go SDKs are built from
# source in GOPATH mode, offline) and npm packages, in .venv/sdk.
SDK := $(VENV)/sdk
SDK_APT := awscli golang-go golang-github-aws-aws-sdk-go-dev golang-github-aws-aws-sdk-go-v2-dev ruby-aws-sdk-core \
  iproute2
SDK_NPM := @aws-sdk/credential-providers@3.1175.0 @aws-sdk/client-sts@3.1174.0 aws-sdk@2.1693.0
GO_ENV := GO111MODULE=off GOPATH=$(CURDIR)/$(SDK)/gopath:/usr/share/gocode GOPROXY=off GOFLAGS= \
  GOCACHE=$(CURDIR)/$(SDK)/gocache
SDK_CLASSES := TestSdkBoto3 TestSdkAwscli TestSdkJs3 TestSdkJs2 TestSdkGo1 TestSdkGo2 TestSdkRuby TestSdkGoTimeouts TestSdkJs2Config \
  TestRequirements

# A virtualenv and its stamp: rebuilt when this Makefile (and so the pins) changes.
define make_venv
	@[ -n "$(2)" ] || { echo "=== no Python interpreter for $(1)"; exit 1; }
	@rm -rf $(1) && $(2) -m venv $(1) && \
	  $(1)/bin/python -m pip install -qq --disable-pip-version-check $(3) && touch $(1)/.stamp
endef

$(VENV)/default/.stamp: Makefile
	$(call make_venv,$(VENV)/default,$(PYTHON),$(call reqs,$(PYTHON_VERSION)))

$(VENV)/py%/.stamp: Makefile
	$(call make_venv,$(VENV)/py$*,$(call python_for,$*),$(call reqs,$*))

test: $(VENV)/default/.stamp
	@$(VENV)/default/bin/python test_script.py suite $(JOBS)

# The suite with every Python it starts beginning 2 s late (tests/slow-python,
# copied next to the virtualenv's python so that it stays the virtualenv):
# shows any test that lets a real process race the fake clock or wall time.
test-slow: $(VENV)/default/.stamp
	@cp tests/slow-python $(VENV)/default/bin/python-slow
	@$(VENV)/default/bin/python-slow test_script.py suite $(JOBS)

# Every interpreter found; fails if any fails, or if none ran. A missing
# interpreter is reported, not failed: not every machine has all six.
test-all: awscli
	@failed=""; passed=""; skipped=""; \
	for v in $(VERSIONS); do \
	  if [ -z "$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python3 2>/dev/null)" ] && ! command -v python$$v >/dev/null; then \
	    skipped="$$skipped $$v"; continue; fi; \
	  echo "=== Python $$v"; \
	  $(MAKE) -s $(VENV)/py$$v/.stamp || { failed="$$failed $$v(setup)"; continue; }; \
	  if ACP_TEST_REQUIRE=$(REQUIRE) $(VENV)/py$$v/bin/python test_script.py suite $(JOBS); \
	  then passed="$$passed $$v"; else failed="$$failed $$v"; fi; \
	done; \
	echo "=== passed:$${passed:- none}"; \
	[ -z "$$skipped" ] || echo "=== skipped, no interpreter found:$$skipped"; \
	[ -n "$$passed$$failed" ] || { echo "=== FAILED: no Python 3.8-3.13 found"; exit 1; }; \
	[ -z "$$failed" ] || { echo "=== FAILED:$$failed"; exit 1; }

# The AWS CLI v2 from Debian, for the tests that run its own code on our files.
awscli:
	@{ /usr/bin/python3 -c 'import awscli.customizations.sso.logout' 2>/dev/null && command -v fish >/dev/null; } || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli fish >/dev/null; } || \
	    echo "=== cannot install Debian's awscli and fish here (needs root and apt): their tests will be skipped"; }

# As root: the Debian packages the SDK matrix needs (each missing one is named).
sdk-apt:
	@missing=""; for p in $(SDK_APT); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	command -v node >/dev/null || missing="$$missing nodejs npm"; \
	[ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; } || \
	  echo "=== cannot install$$missing here (needs root and apt)"; }

$(SDK)/node_modules/.stamp: Makefile
	@mkdir -p $(SDK) && npm install --prefix $(SDK) --no-audit --no-fund --loglevel=error $(SDK_NPM) >/dev/null \
	  && touch $@

$(SDK)/go%: tests/go%/main.go
	@mkdir -p $(SDK) && $(GO_ENV) go build -o $@ ./tests/go$*/

sdk-test: sdk-apt $(VENV)/default/.stamp
	@$(MAKE) -s $(SDK)/node_modules/.stamp $(SDK)/go1 $(SDK)/go2
	@rm -f $(SDK)/results.jsonl
	@ACP_SDK_MATRIX=$(CURDIR)/$(SDK) ACP_SDK_RESULTS=$(CURDIR)/$(SDK)/results.jsonl \
	  ACP_TEST_REQUIRE=$(REQUIRE),sdk $(VENV)/default/bin/python test_script.py suite $(JOBS) $(SDK_CLASSES)
	@ACP_SDK_RESULTS=$(CURDIR)/$(SDK)/results.jsonl $(VENV)/default/bin/python test_script.py sdk-table

# Per consumer: a cache-hit lookup through the script (plain and fast line)
# next to its own SSO support, into docs/reference.md.
sdk-bench: sdk-apt $(VENV)/default/.stamp
	@$(MAKE) -s $(SDK)/node_modules/.stamp $(SDK)/go1 $(SDK)/go2
	@ACP_SDK_MATRIX=$(CURDIR)/$(SDK) $(VENV)/default/bin/python test_script.py sdk-bench --readme

# After a run of make sdk-test: put the table it saw into docs/reference.md.
sdk-readme:
	@ACP_SDK_RESULTS=$(CURDIR)/$(SDK)/results.jsonl $(VENV)/default/bin/python test_script.py sdk-readme

fuzz: $(VENV)/default/.stamp
	@rm -f $(VENV)/fuzz-report.txt
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_REPORT=$(VENV)/fuzz-report.txt ACP_TEST_REQUIRE=hypothesis \
	  $(VENV)/default/bin/python -m unittest test_script.TestFuzz test_script.TestRequirements
	@echo "=== fuzz cases, each: no exit 70, no traceback, no stdout on failure, caches intact, no temp file:"
	@sed 's/^/    /' $(VENV)/fuzz-report.txt

# Coverage of the script, in-process runs and subprocess runs alike (through a
# .pth file in the virtualenv that starts coverage in every Python it runs).
coverage: $(VENV)/default/.stamp
	@$(VENV)/default/bin/python -c 'import coverage, sys; sys.exit(coverage.version_info < (7, 10))' || { echo \
	  "=== make coverage needs coverage 7.10 (to follow --exec into exec): PYTHON=python3.9 or newer"; exit 1; }
	@rm -rf $(VENV)/coverage && mkdir -p $(VENV)/coverage
	@printf '[run]\nparallel = True\npatch = _exit, execv\ninclude = %s/aws_sso_credential_process.py\ndata_file = %s\n[report]\nshow_missing = True\nfail_under = 95\nexclude_lines =\n    pragma: no cover\n' \
	  "$(CURDIR)" "$(CURDIR)/$(VENV)/coverage/.coverage" > $(VENV)/coverage/rc
	@echo 'import coverage; coverage.process_startup()' > \
	  "$$($(VENV)/default/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/acp-coverage.pth"
	@COVERAGE_PROCESS_START=$(CURDIR)/$(VENV)/coverage/rc FUZZ_EXAMPLES=10 \
	  $(VENV)/default/bin/python -m coverage run --rcfile=$(VENV)/coverage/rc -m unittest test_script -q; \
	  status=$$?; rm -f "$$($(VENV)/default/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/acp-coverage.pth"; \
	  [ $$status = 0 ] || exit $$status
	@$(VENV)/default/bin/python -m coverage combine --rcfile=$(VENV)/coverage/rc -q
	@$(VENV)/default/bin/python -m coverage report --rcfile=$(VENV)/coverage/rc

demo: $(VENV)/default/.stamp
	@$(VENV)/default/bin/python test_script.py demo

# The interpreter that runs --install is the one the command will run.
install uninstall:
	@$(PYTHON) aws_sso_credential_process.py --$@ $(if $(PREFIX),--prefix "$(PREFIX)")

$(VENV)/bench/.stamp: Makefile
	$(call make_venv,$(VENV)/bench,$(PYTHON),boto3==1.44.8 aws-sso-credential-process==0.3.1 aws-sso-util==4.33.0)

bench: $(VENV)/bench/.stamp
	@$(VENV)/bench/bin/python test_script.py bench

lint: $(VENV)/default/.stamp
	@for v in $(VERSIONS); do py=$$(ls -d $(PYENV_ROOT)/versions/$$v.*/bin/python3 2>/dev/null | sort -V | tail -n 1); \
	  [ -n "$$py" ] || py=$$(command -v python$$v); [ -z "$$py" ] || \
	  $$py -c 'import ast, sys; ast.parse(open(sys.argv[1]).read(), sys.argv[1])' aws_sso_credential_process.py \
	  || { echo "aws_sso_credential_process.py does not parse under Python $$v"; exit 1; }; done
	@$(VENV)/default/bin/python -m pyflakes aws_sso_credential_process.py test_script.py tests/*.py
	@$(VENV)/default/bin/python -m unittest -q test_script.TestLayout 2>/dev/null \
	  || $(VENV)/default/bin/python -m unittest test_script.TestLayout
	@echo "lint: ok"

version:
	@echo $(VERSION)

clean:
	rm -rf $(VENV) __pycache__
