"""The README's reinforcement-learning, GAIL and AIRL example runs as written."""

import pathlib
import re

import numpy as np
import pytest

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("### Reinforcement learning, GAIL and AIRL", 1)[
        1
    ]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "README: no python block under its reinforcement-learning section"
    return match.group(1)


@pytest.mark.slow  # about 25 s: PPO, GAIL and AIRL programs compile
def test_readme_reinforcement_learning_example():
    namespace = {}
    exec(compile(_example(), str(README), "exec"), namespace)  # noqa: S102
    returns, metrics = namespace["returns"], namespace["metrics"]
    assert returns.shape == (2, 20)
    # 64 environments of 200-step episodes, 64 steps per iteration: episodes
    # end in the iterations that cross a multiple of 200 steps (the others
    # log NaN). That PPO learns is test_ppo.py's claim, over 60 iterations.
    returns = np.asarray(returns)
    ended = np.isfinite(returns)
    np.testing.assert_array_equal(ended[0], ended[1])
    assert ended[0].sum() == 6  # after 256, 448, 640, 832, 1024 and 1216 steps
    assert np.all(returns[ended] < 0)  # the pendulum's reward is a cost
    assert int(namespace["state"].iteration) == 3
    accuracy = float(namespace["accuracy"])
    assert 0.0 <= accuracy <= 1.0
    assert float(metrics["train/nonfinite"]) == 0.0
    assert np.isfinite(float(metrics["discriminator/reward_mean"]))
    expert_rewards = np.asarray(namespace["expert_rewards"])
    assert expert_rewards.shape == (namespace["trainer"].data.obs.shape[0],)
    assert np.all(np.isfinite(expert_rewards)) and expert_rewards.std() > 0
