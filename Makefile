# Everyday tasks; `make` or `make help` lists them. Run inside the project's venv (pip install -e ".[dev]").
.DEFAULT_GOAL := help
PYTHON ?= python
export DRAW_DATA_DIR ?= $(abspath ../shared/data)
export WANDB_MODE ?= offline

.PHONY: help test test-full lint format bench bench-gpu clean

help:  ## list the tasks
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

test:  ## the default test run, as CI runs it (about 10 min on 2 cores; slow tests skipped)
	$(PYTHON) -m pytest

test-full:  ## every test, the slow ones too (DDP, benchmark smoke runs)
	$(PYTHON) -m pytest -m ""

lint:  ## ruff lint and format check, as CI does, without changing files
	ruff check src tests benchmarks scripts notebooks
	ruff format --check src tests benchmarks scripts notebooks

format:  ## format and fix what ruff can, and strip notebook outputs
	ruff format src tests benchmarks scripts notebooks
	ruff check --fix src tests benchmarks scripts notebooks
	nbstripout notebooks/*.ipynb

bench:  ## CPU benchmarks of benchmarks/README.md: training, sampling, evaluation (~25 min; figures and ratios)
	$(PYTHON) benchmarks/bench_train.py --checkpoint
	$(PYTHON) benchmarks/bench_sample.py --num-samples 100 --threads 1 --calls 2 --repeats 5
	$(PYTHON) benchmarks/bench_eval.py --batch-size 20 --samples 50 --threads 1 --repeats 3

bench-gpu:  ## the GPU check (on a machine with a CUDA GPU): bf16/compiled agreement and speed
	bash benchmarks/gpu_check.sh

clean:  ## remove caches (never logs/ or checkpoints)
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf .pytest_cache .ruff_cache
