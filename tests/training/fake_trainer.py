"""A tiny pure-JAX `Trainer` for harness tests: noisy descent towards a target.

The run state holds a typed key, so checkpoints must carry keys; the data
(the target) is an argument of `step`; `blow_up` makes a chosen seed's
parameters non-finite at a chosen round.
"""

import jax
import jax.numpy as jnp

from ilax.types import Trainer

SIZE = 4


def make(
    num_rounds: int = 6,
    updates: int = 3,
    blow_up_round: int = 0,
    blow_up_below: float = 0.0,
) -> Trainer:
    """`blow_up_round > 0`: at that round, seeds whose first initial parameter
    is below `blow_up_below` go non-finite."""

    def init(key):
        key_params, key_run = jax.random.split(key)
        params = jax.random.normal(key_params, (SIZE,))
        return {
            "params": params,
            "first": params[0],
            "key": key_run,
            "round": jnp.zeros((), jnp.int32),
        }

    def step(state, target):
        key_round = jax.random.fold_in(state["key"], state["round"])

        def update(params, index):
            noise = 0.01 * jax.random.normal(
                jax.random.fold_in(key_round, index), (SIZE,)
            )
            return params - 0.3 * (params - target) + noise, jnp.mean(params**2)

        params, losses = jax.lax.scan(update, state["params"], jnp.arange(updates))
        round_number = state["round"] + 1
        if blow_up_round:
            bad = (round_number == blow_up_round) & (state["first"] < blow_up_below)
            params = jnp.where(bad, jnp.nan, params)
        nonfinite = jnp.sum(~jnp.isfinite(params)).astype(jnp.float32)
        metrics = {"train/loss": jnp.mean(losses), "train/nonfinite": nonfinite}
        return {**state, "params": params, "round": round_number}, metrics

    def evaluate(state, key):
        score = -jnp.sum(state["params"] ** 2) + 0.01 * jax.random.normal(key)
        return {"eval/score": score}

    return Trainer(
        init=init,
        step=step,
        evaluate=evaluate,
        policy=lambda state: None,  # nothing acts: the harness tests need no policy
        data=jnp.arange(SIZE, dtype=jnp.float32),
        num_rounds=num_rounds,
    )


def synthetic_dataset(num_episodes: int = 6, length: int = 20, seed: int = 0):
    """Random episodes shaped like the countdown env's (obs 3, action 1)."""
    import numpy as np

    from ilax.data import from_episodes

    rng = np.random.default_rng(seed)
    episodes = []
    for _ in range(num_episodes):
        obs = rng.normal(size=(length + 1, 3)).astype(np.float32)
        action = np.tanh(obs[:-1, :1] - 0.5 * obs[:-1, 1:2]).astype(np.float32)
        episodes.append(
            {
                "obs": obs,
                "privileged": obs,
                "action": action,
                "executed_action": action,
                "reward": np.zeros(length, np.float32),
                "terminated": np.zeros(length, bool),
                "truncated": np.eye(1, length, length - 1, dtype=bool)[0],
            }
        )
    return from_episodes(episodes)


def make_bc(num_rounds: int = 4, **overrides) -> Trainer:
    """Offline BC on `synthetic_dataset`, evaluated on the countdown env."""
    from ilax.algorithms import bc
    from ilax.envs.wrappers import TimeLimit
    from ilax.training import offline
    from tests.fake_env import CountdownEnv

    settings = dict(
        learner=bc.BCConfig(hidden_sizes=(16, 16)),
        batch_size=16,
        updates_per_round=25,
        rounds=num_rounds,
        eval_envs=2,
        eval_steps=12,
    )
    config = bc.BCTrainConfig(**{**settings, **overrides})
    env = TimeLimit(CountdownEnv(), 10)
    learner = offline.build_learner(config, env, bc.make)
    return offline.make_trainer_from_dataset(config, env, synthetic_dataset(), learner)
