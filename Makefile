# Quickstart targets. Everything lives in .venv; nothing is installed globally.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup bench test test-all lint benchmarks experiments clean peers

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

# The main job: a small CPU benchmark sweep and an expert demonstration
# collection, tables printed and written under results/quickstart/.
bench: $(STAMP)
	$(BIN)/python -m benchmarks.env_throughput --settings.batch_sizes=256 \
	  --settings.num_steps=50 --settings.min_calls=3 --settings.min_time_s=1 \
	  --out_dir=results/quickstart/env_throughput --nobenchmarks_md
	$(BIN)/python -m benchmarks.expert_quality --settings.num_episodes=64 \
	  --settings.mppi_episodes=4 --settings.save_demos=runs/demos \
	  --out_dir=results/quickstart/expert_quality --nobenchmarks_md

# The default test run (slow tests skipped), two workers, one file per worker.
test: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m ""

lint: $(STAMP)
	$(BIN)/ruff check ilax tests benchmarks experiments
	$(BIN)/ruff format --check ilax tests benchmarks experiments

# The full sweeps whose figures BENCHMARKS.md quotes.
benchmarks: $(STAMP)
	$(BIN)/python -m benchmarks.env_throughput
	$(BIN)/python -m benchmarks.thread_comparison
	# Cold compiles: the compile column compares the backends' first run.
	ILAX_JAX_CACHE=off $(BIN)/python -m benchmarks.cpu_backends
	$(BIN)/python -m benchmarks.expert_quality
	$(BIN)/python -m benchmarks.learner_throughput
	$(BIN)/python -m benchmarks.inference_latency

experiments: $(STAMP)
	$(BIN)/python -m experiments.compounding_error --settings.tasks=kart_track \
		--settings.hidden_sizes= --settings.seeds=20 --out_dir=results/compounding_error_linear
	$(BIN)/python -m experiments.compounding_error
	$(BIN)/python -m experiments.generative_2d

clean:
	rm -rf $(VENV) .cache runs

# The imitation library's own environment, for benchmarks/peer_comparison.py.
# imitation 1.0 pins gymnasium 0.29 and ilax needs >= 1.1 (the v5 model
# files), so no one environment satisfies both: ilax goes in first, then the
# peer with gymnasium 0.29 over it (ilax's gym/Pendulum-v1 is plain JAX and
# reads no model file). The tests never need it.
peers:
	$(PYTHON) -m venv .venv-peers
	.venv-peers/bin/python -m pip install --quiet --upgrade pip
	.venv-peers/bin/python -m pip install --quiet -e .
	.venv-peers/bin/python -m pip install --quiet imitation==1.0.1 \
	  stable-baselines3==2.2.1 "gymnasium[classic-control]==0.29.1"

