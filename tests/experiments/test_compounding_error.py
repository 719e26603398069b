"""The compounding-error experiment in miniature: the direction of its claim.

Kart track, 6 refits, one lap of labels each, 2 seeds, 6 evaluation laps per
seed and refit. The thresholds come from the gaps measured over five keys
(tests/experiments/README.md has the numbers). The claim runs compile three
kart programs (about 100 s on 2 cores), so they are in the slow tier; the
arms' configs are checked in the default run.
"""

import dataclasses

import jax
import numpy as np
import pytest

from experiments import compounding_error as ce
from ilax import envs

SETTINGS = ce.Settings(iterations=6, updates_per_iteration=300, eval_envs=6)
ARMS = ("bc", "dagger_indicator", "dart_fixed")
LAST = 3  # refits whose evaluation laps are counted


def results(seed: int) -> dict:
    configs = ce.arms(envs.make("kart_track"), SETTINGS)
    key = jax.random.key(seed)
    return {
        arm: ce.run_arm(
            "kart_track", configs[arm], jax.random.split(jax.random.fold_in(key, i), 2)
        )[0]
        for i, arm in enumerate(ARMS)
    }


@pytest.fixture(scope="module")
def curves():
    return results(0)


def total_falls(curves) -> float:
    """Falls over the evaluation laps of the last refits, all seeds."""
    return float(np.sum(curves["learner"][:, -LAST:]) * SETTINGS.eval_envs)


def test_every_arm_shares_the_budget_and_differs_in_its_rule():
    configs = ce.arms(envs.make("kart_track"), SETTINGS)
    budget = ("learner", "iterations", "num_envs", "steps_per_iteration")
    budget += ("updates_per_iteration", "batch_size", "eval_envs", "eval_steps")
    shared = {repr([getattr(c, f) for f in budget]) for c in configs.values()}
    assert len(shared) == 1, shared
    assert configs["bc"].beta_schedule == "expert"
    assert configs["dagger_indicator"].beta_schedule == "indicator"
    # 0.12 of the steering range's half-width: the calibrated 0.3 rad/s.
    assert configs["dart_fixed"].noise_std == pytest.approx(0.3, rel=0.01)


@pytest.mark.slow
def test_every_arm_labels_the_same_number_of_states(curves):
    labels = {arm: c["labels"].tolist() for arm, c in curves.items()}
    assert len({tuple(v) for v in labels.values()}) == 1, labels
    per_iteration = envs.make("kart_track").unwrapped.config.episode_length
    assert labels["bc"] == [per_iteration * (i + 1) for i in range(6)]


@pytest.mark.slow
def test_dagger_falls_less_than_behavior_cloning(curves):
    bc_falls = total_falls(curves["bc"])
    dagger_falls = total_falls(curves["dagger_indicator"])
    # Half the smallest gap measured over five keys (2.0 falls).
    assert bc_falls >= dagger_falls + 1.0, (bc_falls, dagger_falls)


@pytest.mark.slow
def test_dart_keeps_the_expert_on_track_while_collecting(curves):
    dart_collection = curves["dart_fixed"]["collection_falls"].sum()
    dagger_collection = curves["dagger_indicator"]["collection_falls"].sum()
    # Measured over five keys: DART's expert never fell while collecting,
    # DAgger's learner 1 to 5 times.
    assert dart_collection < dagger_collection
    # Half the smallest gap to BC measured over five keys (4.9 falls).
    assert total_falls(curves["dart_fixed"]) + 2.0 <= total_falls(curves["bc"])


def test_a_linear_learner_is_the_empty_hidden_sizes():
    env = envs.make("kart_track")
    linear = dataclasses.replace(SETTINGS, hidden_sizes=())
    for config in ce.arms(env, linear).values():
        assert config.learner.hidden_sizes == ()
