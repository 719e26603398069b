"""The GAIL-vs-BC experiment in miniature: every arm runs, scores and tabulates.

Two trajectory counts, 2 seeds, a few iterations: the pipeline, not the
claim (which needs 300 GAIL iterations: the slow GAIL learning tests hold
it on the pendulum swing-up, results/gail_vs_bc/ on gym/Pendulum-v1). The
DAgger reference queries the shipped PPO expert and matches it.
"""

import numpy as np
import pytest

from experiments import gail_vs_bc

TINY = gail_vs_bc.Settings(
    seeds=2,
    trajectories=(1, 4),
    gail_iterations=3,
    bc_updates=100,
    dagger_iterations=2,
    eval_episodes=8,
)


@pytest.mark.slow  # about a minute on 2 cores: six programs compile
def test_every_arm_scores_every_count():
    result = gail_vs_bc.run_task("gym/Pendulum-v1", TINY)
    assert result["expert_return"] > result["random_return"]
    normalized = result["normalized"]
    assert set(normalized) == {"bc", "gail", "gail_ppo", "airl", "dagger"}
    for arm, by_count in normalized.items():
        assert set(by_count) == {1, 4}, arm
        for values in by_count.values():
            assert values.shape == (2,) and np.all(np.isfinite(values)), arm
    # DAgger labels every state it visits with the expert's own action.
    assert np.all(normalized["dagger"][1] > 0.9), normalized["dagger"][1]
    rows = gail_vs_bc.table(result, TINY)
    assert [row["arm"] for row in rows] == ["bc", "gail", "gail_ppo", "airl", "dagger"]
    assert "BC with 1 trajectory" in gail_vs_bc.claim(result, TINY)


def test_an_unknown_arm_is_named():
    settings = gail_vs_bc.Settings(arms=("bc", "gial"))
    with pytest.raises(ValueError, match=r"Settings.arms must be among .*\['gial'\]"):
        gail_vs_bc.run_task("gym/Pendulum-v1", settings)
