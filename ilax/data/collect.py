"""Demonstration collection: an expert (optionally noise-injected) in one jit.

`collect` runs `num_episodes` environments in parallel for one episode each
and packs the result into a `Dataset`; `collect_successful` keeps only the
episodes that succeeded. With `noise_std > 0` the executed
actions are perturbed while the expert's clean actions are recorded as labels
(DART's rule, Laskey et al. 2017).
"""

import functools

import jax
import numpy as np

from ilax import policies
from ilax.data.dataset import Dataset, episodes, from_episodes, from_trajectory
from ilax.envs.base import Env
from ilax.metrics.episodes import first_episode
from ilax.rollout import rollout
from ilax.types import EpisodeLog, Policy, Trajectory


@functools.partial(
    jax.jit, static_argnames=("env", "expert", "num_episodes", "max_steps")
)
def collect_trajectory(
    env: Env,
    expert: Policy,
    key: jax.Array,
    noise_std: jax.Array,
    *,
    num_episodes: int,
    max_steps: int,
) -> tuple[Trajectory, EpisodeLog]:
    """The jitted part of `collect`: one episode per environment, `[T, E, ...]`.

    `noise_std` is traced, so changing the noise level (as DART's rule does
    every iteration) does not recompile; new keys do not either. The
    `EpisodeLog` gives each episode's return and task metrics.
    """
    low, high = env.action_bounds
    policy = policies.with_action_noise(expert, noise_std, low, high)
    return rollout(env, policy, key, num_episodes, max_steps, auto_reset=False)


def collect(
    env: Env,
    expert: Policy,
    key: jax.Array,
    num_episodes: int,
    *,
    noise_std: float | np.ndarray = 0.0,
    max_steps: int | None = None,
) -> Dataset:
    """Collects `num_episodes` demonstrations of `expert` on `env`.

    Args:
      env: an environment from `ilax.envs.make` (its time limit bounds the
        episodes).
      expert: the demonstrating policy; reads `privileged` state.
      key: typed key.
      num_episodes: episodes to collect, run in parallel.
      noise_std: standard deviation of Gaussian noise added to the executed
        actions (scalar or per action dimension); labels stay clean.
      max_steps: steps per episode; defaults to the env's time limit. An
        episode still running then is marked truncated.

    Returns:
      The validated `Dataset`, labels in `action`, executed actions in
      `executed_action`.

    Raises:
      ValueError: `num_episodes` or `max_steps` below 1, negative noise, or no
        time limit to bound the episodes.
    """
    if num_episodes < 1:
        raise ValueError(f"collect: num_episodes must be >= 1; got {num_episodes}")
    if max_steps is None:
        max_steps = getattr(env, "max_steps", None)
        if max_steps is None:
            raise ValueError(
                "collect: env has no time limit; pass max_steps or build it with "
                "ilax.envs.make"
            )
    if max_steps < 1:
        raise ValueError(f"collect: max_steps must be >= 1; got {max_steps}")
    noise = np.asarray(noise_std, np.float32)
    if np.any(noise < 0) or noise.shape not in ((), (env.action_size,)):
        raise ValueError(
            f"collect: noise_std must be >= 0, a scalar or of shape "
            f"({env.action_size},); got {noise_std!r}"
        )
    trajectory, _ = collect_trajectory(
        env, expert, key, noise, num_episodes=num_episodes, max_steps=max_steps
    )
    return from_trajectory(trajectory)


def collect_successful(
    env: Env,
    expert: Policy,
    key: jax.Array,
    num_episodes: int,
    *,
    max_rounds: int = 10,
) -> tuple[Dataset, dict[str, int]]:
    """The first `num_episodes` episodes of `expert` that end in success.

    Collects in rounds of `num_episodes` plus a margin (a tenth, at least 4),
    round i with `fold_in(key, i)`, until enough episodes succeeded (the
    task's `success` metric at the episode's end), keeping them in order.

    Returns:
      The dataset and `{"collected": episodes run, "failed": episodes
      dropped as failures, "kept": num_episodes}`.

    Raises:
      RuntimeError: fewer than `num_episodes` successes after `max_rounds`.
    """
    kept, collected, failed = [], 0, 0
    per_round = num_episodes + max(4, num_episodes // 10)
    for index in range(max_rounds):
        trajectory, log = collect_trajectory(
            env,
            expert,
            jax.random.fold_in(key, index),
            np.float32(0.0),
            num_episodes=per_round,
            max_steps=env.max_steps,
        )
        success = np.asarray(first_episode(log)["success"]) > 0.5
        run = episodes(from_trajectory(trajectory))
        kept += [episode for episode, ok in zip(run, success, strict=True) if ok]
        collected += per_round
        failed += int(np.sum(~success))
        if len(kept) >= num_episodes:
            info = {"collected": collected, "failed": failed, "kept": num_episodes}
            return from_episodes(kept[:num_episodes]), info
    raise RuntimeError(
        f"collect_successful: {len(kept)} of {collected} episodes succeeded; "
        f"{num_episodes} were asked for"
    )
