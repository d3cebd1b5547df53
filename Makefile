# The two commands a newcomer needs: `make demo` and `make test`. Both set up .venv on first use.
SHELL := /bin/bash
PYTHON ?= python3
BIN := .venv/bin
# The official MNIST files beside the checkout, when present (CI, this course's machines);
# otherwise course.toml's data_dir is used and torchvision downloads MNIST there.
SHARED_DATA := $(abspath ../shared/data)
export COURSE_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)/MNIST),$(SHARED_DATA),)

.PHONY: setup demo test test-slow test-all chromium

setup: $(BIN)/course chromium

$(BIN)/course: pyproject.toml
	$(PYTHON) -m venv .venv
	set -o pipefail; $(BIN)/pip install --quiet -e . 2>&1 | { grep -v "^WARNING: Location" || true; }
	touch $@

# The class report's browser test needs headless Chromium: installed from the system's packages when
# missing (CI runs as root on a clean Debian machine; elsewhere apt-get runs through sudo).
CHROMIUM := $(firstword $(foreach b,chromium chromium-browser google-chrome,$(shell command -v $(b) 2>/dev/null)))
chromium: $(BIN)/course
ifeq ($(CHROMIUM),)
	@echo "installing Debian's chromium (log: .venv/apt-chromium.log)"
	$(if $(filter 0,$(shell id -u)),,sudo) apt-get -qq update > .venv/apt-chromium.log 2>&1 || { tail -30 .venv/apt-chromium.log; exit 1; }
	$(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >> .venv/apt-chromium.log 2>&1 \
		|| { tail -30 .venv/apt-chromium.log; exit 1; }
endif

# Release every assignment, grade the bundled example submissions, print the gradebook, then write the
# class report (written even when a submission has no grade; non-zero when either step fails).
demo: setup
	$(BIN)/course release
	$(BIN)/course grade examples/submitted --out gradebook --force; status=$$?; \
	$(BIN)/course report gradebook --out gradebook/report || status=$$?; \
	exit $$status

# The package's own tests: `make test` is the fast set (about 10 minutes on 2 cores); `make test-slow`
# runs the slow ones (MNIST training, nbgrader autograde on a sample, calibration over 10 seeds); CI runs
# both. `make test-all` runs every test, the exhaustive ones too (stock nbgrader on all 91 examples).
test: setup
	$(BIN)/python -m pytest

test-slow: setup
	$(BIN)/python -m pytest -m slow

test-all: setup
	$(BIN)/python -m pytest -m "slow or exhaustive or not slow"
