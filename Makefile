# `make fit` and `make test` work on a fresh machine: each creates .venv with a
# Python >= 3.12 found on the machine, installs the pinned requirements, then runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV  := .venv
PY    := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# uv installs the pinned lock several times faster than pip (measured in
# benchmarks/results.md); pip remains the fallback wherever uv cannot be installed or fails.
UV_VERSION := 0.13.9
UV    := $(VENV)/bin/uv
CLI   := $(VENV)/bin/netlm-bayes
# Passed through to the CLI, e.g. `make fit SEED=7 PROFILE=thorough`.
SEED    ?= 20260101
PROFILE ?= default

.PHONY: bytecode help fit test test-slow validate validate-optional bench bench-versus bench-brms bench-scale lint paper synth lock clean chromium r

help:
	@echo "make fit        set up, then the whole re-analysis: the paper's effects under every prior set,"
	@echo "                the Weibull and logistic models on the pseudo-cohort and its 20 replicates"
	@echo "make test       set up, then run the test suite (fast tests, about 9 minutes)"
	@echo "make test-slow  the slow checks too (thorough sampler runs; installs R and brms from"
	@echo "                Debian for the R checks of exported priors)"
	@echo "make validate   simulation-based calibration of every model (validation/, about 5 minutes)"
	@echo "make validate-optional"
	@echo "                the M-spline cases, with and without cure (validation-optional/, about 30 minutes)"
	@echo "make bench      speed against Stan and the targets of issue 8 (benchmarks/results.md, about 70 minutes)"
	@echo "make bench-versus BASE=<commit>"
	@echo "                make fit cold and warm, that commit beside this one, alternating, in fresh"
	@echo "                clones (benchmarks/versus.md, about 15 minutes)"
	@echo "make bench-brms the patient-level part of make fit beside brms (installs R and brms from"
	@echo "                Debian; benchmarks/brms.md, about 15 minutes)"
	@echo "make bench-scale fit on 10,000 to 1,000,000 rows beside lifelines, stage by stage"
	@echo "                (benchmarks/scale.md, about 30 minutes)"
	@echo "make lint       ruff"
	@echo "make paper      print the paper's numbers as the tool reads them"
	@echo "make synth      re-make the synthetic pseudo-cohort and its 20 replicates"

$(STAMP): requirements.lock pyproject.toml scripts/find-python
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  python=$$(scripts/find-python) || exit 1; \
	  echo "Creating $(VENV) with $$python"; \
	  rm -rf $(VENV) && "$$python" -m venv $(VENV) || exit 1; \
	fi
	@if $(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) 2>/dev/null \
	  && $(UV) pip install --quiet --python $(PY) --compile-bytecode -r requirements.lock \
	  && $(UV) pip install --quiet --python $(PY) --no-deps --no-build-isolation -e .; then \
	  echo "Installed requirements.lock with uv $(UV_VERSION)"; \
	else \
	  echo "uv $(UV_VERSION) unavailable or failed: installing requirements.lock with pip"; \
	  $(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock && \
	  $(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e . \
	  || exit 1; \
	fi
	@$(MAKE) --no-print-directory bytecode
	@touch $(STAMP)

# Bytecode, written once at install (uv's --compile-bytecode above for the dependencies, this
# for our own package): containers that set PYTHONDONTWRITEBYTECODE=1 never cache it
# themselves and would otherwise recompile every import in every process (docs/benchmarks.md,
# "Start-up"). `make bytecode` again after editing the package there.
bytecode:
	@$(PY) -m compileall -q -j 0 netlm_bayes >/dev/null

fit: $(STAMP)
	$(CLI) freq --data data/pseudo_cohort.csv
	$(CLI) study --profile $(PROFILE) --seed $(SEED)

paper: $(STAMP)
	$(CLI) paper

# Re-make the committed synthetic pseudo-cohort and its 20 replicates (a few minutes).
synth: $(STAMP)
	$(CLI) synth --seed 2 --replicates 20

# The report test opens report.html in headless Chromium: Debian's package, installed here.
CHROMIUM := $(shell command -v chromium 2>/dev/null)
chromium:
	@if [ -z "$(CHROMIUM)" ] && ! command -v chromium >/dev/null 2>&1; then \
	  echo "Installing Debian's chromium for the report test"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null || { \
	    echo "Could not install chromium (apt-get); the report test needs it." >&2; exit 1; }; \
	fi

test: $(STAMP) chromium
	$(PY) -m pytest

# The slow tests read exported priors in R (jsonlite, the RBesT way) and fit brms with
# them: Debian's R packages, installed here (never needed by `make fit` or `make test`).
# brms' first compile needs Boost where rstan looks for it, inside the BH package.
r:
	@if ! Rscript -e 'quit(status = !all(sapply(c("jsonlite", "brms", "ncdf4", "posterior"), requireNamespace, quietly = TRUE)))' >/dev/null 2>&1; then \
	  echo "Installing Debian's R, jsonlite and brms for the slow tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq r-base-core r-cran-jsonlite \
	    r-cran-brms r-cran-ncdf4 r-cran-posterior libboost-dev >/dev/null || { \
	    echo "Could not install R and brms (apt-get); the slow R tests need them." >&2; exit 1; }; \
	fi
	@bh=$$(Rscript -e 'cat(find.package("BH"))' 2>/dev/null); \
	if [ -n "$$bh" ] && [ ! -e "$$bh/include/boost" ] && [ -d /usr/include/boost ]; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO mkdir -p "$$bh/include" && $$SUDO ln -s /usr/include/boost "$$bh/include/boost"; \
	fi

test-slow: $(STAMP) chromium r
	$(PY) -m pytest -m slow

# Simulation-based calibration: 200 simulated data sets per model; rewrites validation/.
validate: $(STAMP)
	rm -rf validation
	$(CLI) validate --simulations 200 --seed $(SEED) --out validation

# The optional M-spline SBC cases, 200 data sets each (about 30 minutes): validation-optional/.
validate-optional: $(STAMP)
	rm -rf validation-optional
	for model in hpfs_mspline hpfs_mspline_cure; do \
		$(CLI) validate --models $$model --simulations 200 --seed 31 --out validation-optional/$$model || exit 1; \
	done

# Benchmarks live in benchmarks/ (its Makefile sets up pystan in its own venv), not in tests.
bench: $(STAMP)
	$(MAKE) -C benchmarks bench

bench-versus: $(STAMP)
	$(MAKE) -C benchmarks versus BASE=$(BASE)

bench-brms: $(STAMP) r
	$(MAKE) -C benchmarks brms

bench-scale: $(STAMP)
	$(MAKE) -C benchmarks scale

lint: $(STAMP)
	$(VENV)/bin/ruff check netlm_bayes tests benchmarks
	$(VENV)/bin/ruff format --check netlm_bayes tests benchmarks

# Re-pin after editing pyproject.toml's dependencies (needs the registry).
lock: $(STAMP)
	$(PY) -m pip install --quiet -e '.[dev]'
	{ echo '# Every package `make` installs, pinned. Regenerate with `make lock` after changing'; \
	  echo '# pyproject.toml dependencies. Built on CPython 3.12.'; \
	  $(PY) -m pip freeze --exclude-editable; } > requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
