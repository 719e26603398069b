"""Runs `ilax.training.run` in a fresh process for the resume and SIGTERM tests.

python -m tests.training.harness_script resume CHECKPOINT_DIR OUT.npz
python -m tests.training.harness_script sigterm CHECKPOINT_DIR METRICS.jsonl
"""

import os
import signal
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from ilax import platform  # noqa: E402

platform.use_safe_cpu_flags()

import jax  # noqa: E402
import numpy as np  # noqa: E402
from absl import logging  # noqa: E402

from ilax.training import checkpoints, loop  # noqa: E402
from tests.training import fake_trainer  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
if "ILAX_JAX_CACHE" in os.environ:
    jax.config.update("jax_compilation_cache_dir", os.environ["ILAX_JAX_CACHE"])


def main(mode: str, directory: str, path: str) -> None:
    logging.set_verbosity(logging.INFO)
    key = jax.random.key(0)
    if mode == "resume":
        state, history = loop.run(
            fake_trainer.make_bc(num_rounds=4),
            key=key,
            num_seeds=2,
            checkpoint_dir=directory,
            progress=False,
        )
        assert [record["round"] for record in history] == [3, 4], history
        leaves = jax.tree.leaves(checkpoints.to_savable(state))
        np.savez(path, *leaves)
    else:
        previous = signal.getsignal(signal.SIGTERM)
        loop.run(
            fake_trainer.make(num_rounds=200_000),
            key=key,
            checkpoint_dir=directory,
            save_every=10**9,
            metrics_path=path,
            progress=False,
        )
        assert signal.getsignal(signal.SIGTERM) is previous
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
