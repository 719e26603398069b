"""The README's behavior-cloning example runs as written and learns."""

import pathlib
import re

import jax.numpy as jnp

README = pathlib.Path(__file__).resolve().parents[3] / "README.md"


def _example() -> str:
    text = README.read_text()
    section = text.split("### Behavior cloning", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README: no python block under '### Behavior cloning'"
    return match.group(1)


def test_readme_behavior_cloning_example(capsys):
    namespace = {}
    exec(compile(_example(), str(README), "exec"), namespace)  # noqa: S102
    metrics, act, obs = namespace["metrics"], namespace["act"], namespace["obs"]
    assert set(metrics) == {
        "bc/loss",
        "bc/grad_norm",
        "bc/action_mse",
        "train/nonfinite",
    }
    assert "bc/loss" in capsys.readouterr().out
    assert act.shape == (8, 2)
    # 500 updates fit tanh of two inputs closely: measured squared error
    # 0.002 on these rows, against a label variance of 0.39.
    assert float(jnp.mean((act - jnp.tanh(obs[:8, :2])) ** 2)) < 0.03
    assert float(metrics["train/nonfinite"]) == 0.0
