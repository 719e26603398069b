"""docs/architecture.md's example learner runs as written, in its own process.

The example registers an algorithm; a subprocess keeps it out of this
worker's registry (the registry tests count the algorithms).
"""

import pathlib
import re
import subprocess
import sys

DOC = pathlib.Path(__file__).resolve().parents[1] / "docs" / "architecture.md"

CHECK = """
import jax, jax.numpy as jnp, numpy as np
from ilax.algorithms import registry
from ilax.training import updates
from ilax.types import Batch, Observation

assert "ridge" in registry.names()
assert registry.of_config(RidgeTrainConfig()).name == "ridge"
learner = make(RidgeConfig(l2=0.0, learning_rate=0.05), observation_size=3,
               action_size=2)
x = jax.random.normal(jax.random.key(0), (512, 3))
data = Batch(x, x, x @ jnp.array([[1.0, 0.0], [0.5, -1.0], [0.0, 2.0]]))
state, metrics = jax.jit(lambda k: updates.fit(
    learner, data, k, num_updates=300, batch_size=64))(jax.random.key(1))
mse = np.asarray(metrics["ridge/mse"])
assert mse[-10:].mean() < 0.01 * mse[:10].mean(), (mse[:10], mse[-10:])
assert float(metrics["train/nonfinite"].sum()) == 0.0
policy = learner.make_policy(state)
action, _, _ = policy.step((), Observation(x[:5], x[:5]), jax.random.key(2))
assert action.shape == (5, 2)
np.testing.assert_allclose(action, data.action[:5], atol=0.05)
print("OK")
"""


def example() -> str:
    section = DOC.read_text().split("## Adding a learner", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "docs/architecture.md: no example under '## Adding a learner'"
    return match.group(1)


def test_the_example_learner_registers_trains_and_acts():
    result = subprocess.run(
        [sys.executable, "-c", example() + CHECK],
        capture_output=True,
        text=True,
        timeout=300,
        env={"JAX_PLATFORMS": "cpu", "PATH": ""},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK")
