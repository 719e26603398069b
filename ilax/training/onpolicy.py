"""On-policy reinforcement learning as a `Trainer`: PPO and TRPO runs.

A run keeps `num_envs` environments going from round to round. Each round
(an iteration) is one pure function: the learner's behaviour policy steps
every environment `unroll_length` times (one `lax.scan`, finished episodes
restarting as they end), and the learner takes one policy step on that
time-major trajectory (`PolicyLearner.update`). The episodes that ended
during collection are summarized as `rollout/*`; `evaluate` runs the
deterministic policy alone, as `eval/*`. No expert is involved: the
environment's reward is the signal.

An adversarial imitation run (GAIL, AIRL) is the same loop with a
`RewardModel`: after each collection the model updates itself on the
trajectory and the trainer's `data` (the expert's transitions), and its
reward replaces the environment's before the policy step. `rollout/*`
still reports the environment's own (true) return.

Each algorithm's train config derives from `OnPolicyConfig` and adds its
`learner` config; `algorithm(name, config_class, make, loss_metric)` is the
registry entry of a policy learner's `make` trained this way.
"""

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from ilax import config as config_lib
from ilax import metrics as metrics_lib
from ilax.algorithms import registry
from ilax.algorithms.base import LearnerConfig
from ilax.data.normalizer import RunningNormalizer
from ilax.envs.base import Env
from ilax.rollout import RolloutState, start, unroll
from ilax.training import evaluation
from ilax.types import (
    Metrics,
    Policy,
    PolicyLearner,
    Trainer,
    TrainState,
    Trajectory,
)


@dataclasses.dataclass(kw_only=True)
class OnPolicyConfig:
    """The schedule of an on-policy run; subclasses add `learner`."""

    learner: LearnerConfig
    """The policy learner's settings (each algorithm's config class fixes the
    type)."""
    iterations: int = 100
    """Collections, each followed by one policy step."""
    num_envs: int = 64
    """Environments stepped in parallel; they carry over between iterations."""
    unroll_length: int = 64
    """Control steps per environment per iteration."""
    normalize_rewards: bool = True
    """Divide the rewards the learner sees by the running std of each
    environment's discounted return (discount: the learner's `gamma`), the
    reward scaling of PPO's reference implementations (Engstrom et al.
    2020): value targets of order 1 whatever the task's reward scale."""
    eval_envs: int = 16
    """Environments the deterministic policy drives in an evaluation."""
    eval_steps: int = 0
    """Control steps of an evaluation; 0 means the task's episode length."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_types(self)
        config_lib.check_fields(
            self,
            positive=("iterations", "num_envs", "unroll_length", "eval_envs"),
            non_negative=("eval_steps",),
        )


class RewardModel(NamedTuple):
    """A learned reward that replaces the environment's (GAIL's discriminator).

    `init(key)` is the model's slot of the run state. `relabel(model_state,
    trajectory, data, key, log_prob)` updates the model on the new trajectory
    and the trainer's `data`, and returns `(model_state, reward [T, B],
    metrics)`: the reward the policy step sees in place of
    `trajectory.reward`. `log_prob(obs, action)` is the collecting policy's
    log-density of executed actions (`PolicyLearner.log_prob` at the state
    that collected), for models that need it (AIRL).
    """

    init: Callable[[jax.Array], Any]
    relabel: Callable[..., tuple[Any, jax.Array, Metrics]]


def fixed_reward(reward: Callable[[Trajectory], jax.Array]) -> RewardModel:
    """A learned reward, frozen: `reward(trajectory)` `[T, B]` replaces the task's.

    It has no state and never updates; a fresh policy trained with it
    (`make_trainer(..., reward_model=fixed_reward(f))`) re-optimizes a reward
    that adversarial imitation recovered (AIRL's `learned_reward`).
    """

    def relabel(model_state, trajectory, data, key, log_prob):
        del data, key, log_prob
        return model_state, reward(trajectory), {}

    return RewardModel(init=lambda key: (), relabel=relabel)


@struct.dataclass
class OnPolicyState:
    """One seed's run, enough to continue it bit-identically."""

    train_state: TrainState
    rollout: RolloutState  # the environments, mid-episode
    discounted_return: jax.Array  # [num_envs] running, for reward scaling
    return_stats: RunningNormalizer  # of those returns, one feature
    reward_model: Any  # the `RewardModel`'s state, `()` without one
    iteration: jax.Array  # int32, iterations completed
    key: jax.Array  # typed key of the remaining iterations


def scale_rewards(
    reward: jax.Array,
    done: jax.Array,
    discounted_return: jax.Array,
    return_stats: RunningNormalizer,
    gamma: float,
) -> tuple[jax.Array, jax.Array, RunningNormalizer]:
    """Rewards `[T, B]` divided by the running std of the discounted return.

    Each environment's return `G = gamma * G + r` runs across iterations and
    restarts after an episode ends; every step's `G` is folded into the
    statistics before the rewards are divided (the mean is not removed).

    Returns:
      The scaled rewards, the returns to carry on and the statistics.
    """

    def accumulate(running, step):
        r, d = step
        running = gamma * running + r
        return jnp.where(d, 0.0, running), running

    carried, returns = jax.lax.scan(accumulate, discounted_return, (reward, done))
    return_stats = return_stats.update(returns[..., None])
    std = jnp.sqrt(return_stats.var[0] + 1e-8)
    return reward / std, carried, return_stats


def build_learner(config: OnPolicyConfig, env: Env, make) -> PolicyLearner:
    """The learner a run of `config` trains: `make(config.learner)` sized for `env`."""
    return make(
        config.learner,
        observation_size=env.observation_size,
        action_size=env.action_size,
        action_bounds=env.action_bounds,
    )


def make_trainer(
    config: OnPolicyConfig,
    env: Env,
    learner: PolicyLearner,
    reward_model: RewardModel | None = None,
    data: Any = None,
) -> Trainer:
    """A `Trainer` whose every round is one iteration: collect, then a policy step.

    Args:
      config: the settings.
      env: the task (unbatched, as from `ilax.envs.make`).
      learner: the policy learner, sized for `env`.
      reward_model: replaces the environment's reward (None: keep it).
      data: the trainer's `data`, passed to every round and to the reward
        model (the expert's transitions; None without a reward model).
    """
    config.check()
    eval_steps = config.eval_steps or env.max_steps
    per_iteration = config.num_envs * config.unroll_length

    def init(key: jax.Array) -> OnPolicyState:
        key_learner, key_envs, key_run, key_model = jax.random.split(key, 4)
        train_state = learner.init(key_learner)
        envs = start(
            env, learner.make_behaviour(train_state), key_envs, config.num_envs
        )
        return OnPolicyState(
            train_state=train_state,
            rollout=envs,
            discounted_return=jnp.zeros((config.num_envs,), jnp.float32),
            return_stats=RunningNormalizer.create(1),
            reward_model=() if reward_model is None else reward_model.init(key_model),
            iteration=jnp.zeros((), jnp.int32),
            key=key_run,
        )

    def step(state: OnPolicyState, data=None) -> tuple[OnPolicyState, Metrics]:
        key, key_next = jax.random.split(state.key)
        key_collect, key_update, key_model = jax.random.split(key, 3)
        envs, trajectory, log = unroll(
            env,
            learner.make_behaviour(state.train_state),
            state.rollout,
            key_collect,
            config.unroll_length,
        )
        metrics = {}
        model_state = state.reward_model
        if reward_model is not None:
            model_state, reward, metrics = reward_model.relabel(
                model_state,
                trajectory,
                data,
                key_model,
                functools.partial(learner.log_prob, state.train_state),
            )
            trajectory = trajectory._replace(reward=reward)
        discounted_return, return_stats = state.discounted_return, state.return_stats
        if config.normalize_rewards:
            reward, new_return, new_stats = scale_rewards(
                trajectory.reward,
                trajectory.terminated | trajectory.truncated,
                discounted_return,
                return_stats,
                config.learner.gamma,
            )
            # A non-finite reward must not poison the running statistics for
            # the rest of the run: they stay as they were (and the policy
            # step, seeing the NaN, is refused and reported).
            finite = jnp.all(jnp.isfinite(trajectory.reward))
            discounted_return, return_stats = jax.tree.map(
                lambda new, old: jnp.where(finite, new, old),
                (new_return, new_stats),
                (discounted_return, return_stats),
            )
            trajectory = trajectory._replace(reward=reward)
        train_state, update_metrics = learner.update(
            state.train_state, trajectory, key_update
        )
        # Skipped steps of the reward model and of the policy add up.
        skipped = (
            metrics.get("train/nonfinite", 0.0) + update_metrics["train/nonfinite"]
        )
        metrics.update(update_metrics)
        metrics["train/nonfinite"] = skipped
        metrics.update(metrics_lib.summarize(log, prefix="rollout"))
        metrics["reward/std_of_return"] = jnp.sqrt(return_stats.var[0])
        iteration = state.iteration + 1
        # float32: a step count past 2**31 stays meaningful on large runs.
        metrics["env_steps"] = iteration.astype(jnp.float32) * per_iteration
        state = OnPolicyState(
            train_state=train_state,
            rollout=envs,
            discounted_return=discounted_return,
            return_stats=return_stats,
            reward_model=model_state,
            iteration=iteration,
            key=key_next,
        )
        return state, metrics

    def policy(state: OnPolicyState) -> Policy:
        return learner.make_policy(state.train_state)

    return Trainer(
        init=init,
        step=step,
        evaluate=evaluation.evaluator(
            env, policy, num_envs=config.eval_envs, num_steps=eval_steps
        ),
        policy=policy,
        data=data,
        num_rounds=config.iterations,
    )


def algorithm(
    name: str,
    config_class: type[OnPolicyConfig],
    make: Callable[..., PolicyLearner],
    loss_metric: str,
) -> registry.Algorithm:
    """The registry entry of a policy learner trained on-policy.

    Args:
      name: the algorithm's name.
      config_class: its config class.
      make: the learner module's `make(config, *, observation_size,
        action_size, action_bounds)`.
      loss_metric: the learner's training loss among its update metrics.
    """

    def make_run_trainer(config, env, expert):
        del expert  # the reward is the only teacher
        config.check()
        return make_trainer(config, env, build_learner(config, env, make))

    return registry.Algorithm(
        name=name,
        config_class=config_class,
        make_trainer=make_run_trainer,
        make_learner=lambda config, env: build_learner(config, env, make),
        loss_metric=loss_metric,
        learner_type=PolicyLearner,
        needs_expert=False,
    )
