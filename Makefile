# Two commands do everything (see README): `make lab` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch goes in first, on its own, so nothing later can pull a different build.
# The default is a CPU-only wheel where one is at hand; on Linux, add
# TORCH_ARGS="--index-url <PyTorch's CPU wheel index>" to avoid the large CUDA build.
TORCH ?= torch==2.13.0
TORCH_ARGS ?=

.PHONY: setup lab test release checkpoints benchmark benchmark-grading clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q $(TORCH_ARGS) "$(TORCH)"
	$(BIN)/python -m pip install -q -e ".[course,dev,cluster]"
	touch $@

lab: setup
	$(BIN)/jupyter lab notebooks/

test: setup
	$(BIN)/pytest

release: setup
	$(BIN)/python -m grader release

checkpoints: setup
	$(BIN)/python -m induction_circuits.training

benchmark: setup
	$(BIN)/python benchmarks/bench_training.py

benchmark-grading: setup
	$(BIN)/python benchmarks/bench_grading.py

clean:
	rm -rf $(VENV) grader/course
