# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: demo test serve bench bench-full wrk lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test,postgres]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/seatledger demo

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

serve: $(STAMP)
	$(BIN)/seatledger serve

# Every figure beside its baseline, one table, bench/results/<time>.json (bench/README.md).
# ARGS: bench/run.py's options, e.g. make bench ARGS="--only access --profile".
bench: $(BENCH_STAMP)
	@command -v wrk >/dev/null 2>&1 || $(MAKE) --no-print-directory wrk
	$(BIN)/python bench/run.py $(ARGS)

bench-full:
	$(MAKE) --no-print-directory bench ARGS="--full $(ARGS)"

$(BENCH_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e ".[bench]"
	touch $(BENCH_STAMP)

# wrk, the HTTP figures' load generator, from apt (as root, or with sudo).
wrk:
	@echo "wrk not found: installing it with apt-get"
	@SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	{ $$SUDO apt-get install -y wrk || { $$SUDO apt-get update && $$SUDO apt-get install -y wrk; }; } \
		>/dev/null 2>&1 \
	|| echo "could not install wrk: run 'sudo apt-get install wrk' (Debian, Ubuntu) or \
	'brew install wrk' (macOS); until then the HTTP figures are skipped"

clean:
	rm -rf $(VENV) *.egg-info src/*.egg-info

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
