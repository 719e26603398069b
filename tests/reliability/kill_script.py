"""One training run for the kill test, in a process of its own.

python -m tests.reliability.kill_script WORKDIR ROUNDS

Trains `fake_trainer.make_bc` on 2 seeds with a checkpoint after every round
in `WORKDIR/checkpoints` and `WORKDIR/metrics.jsonl`, resuming whatever
WORKDIR holds, then prints DONE.
"""

import os
import pathlib
import sys

os.environ.setdefault("JAX_PLATFORMS", "cpu")

from ilax import platform  # noqa: E402

platform.use_safe_cpu_flags()

import jax  # noqa: E402

from ilax.training import loop  # noqa: E402
from tests.training import fake_trainer  # noqa: E402

if "ILAX_JAX_CACHE" in os.environ:
    jax.config.update("jax_compilation_cache_dir", os.environ["ILAX_JAX_CACHE"])


def main(workdir: str, rounds: str) -> None:
    workdir = pathlib.Path(workdir)
    loop.run(
        fake_trainer.make_bc(num_rounds=int(rounds), updates_per_round=5),
        key=jax.random.key(0),
        num_seeds=2,
        eval_every=3,
        checkpoint_dir=workdir / "checkpoints",
        metrics_path=workdir / "metrics.jsonl",
        save_every=1,
        progress=False,
    )
    print("DONE", flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
