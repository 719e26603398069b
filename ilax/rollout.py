"""Batched rollouts as one `lax.scan`: collection, DAgger and evaluation use it.

`rollout` starts `num_envs` environments and runs a policy for `num_steps`
control steps, returning a time-major `Trajectory` and an `EpisodeLog` of the
episodes that finished (`ilax.metrics.summarize` turns it into means).
`start` and `unroll` split the same thing in two, for loops that continue the
same environments (DAgger iterations).
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from ilax.envs import wrappers
from ilax.envs.base import Env, State
from ilax.types import EpisodeLog, Observation, Policy, PolicyState, Trajectory


class RolloutState(NamedTuple):
    """What carries over between steps, each leaf leading with `[B]`."""

    env: State
    policy: PolicyState
    episode_return: jax.Array  # [B] return so far of the running episode
    episode_length: jax.Array  # [B] int32 steps so far of the running episode
    finished: jax.Array  # [B] bool, an episode has ended (matters without reset)


def batch(env: Env, auto_reset: bool = True) -> Env:
    """The batched environment a rollout steps: `AutoReset(Vmap(env))`."""
    batched = wrappers.Vmap(env)
    return wrappers.AutoReset(batched) if auto_reset else batched


def start(
    env: Env, policy: Policy, key: jax.Array, num_envs: int, *, auto_reset: bool = True
) -> RolloutState:
    """Resets `num_envs` environments and the policy's per-environment state."""
    key_env, key_policy = jax.random.split(key)
    env_state = batch(env, auto_reset).reset(jax.random.split(key_env, num_envs))
    return RolloutState(
        env=env_state,
        policy=policy.init(key_policy, (num_envs,)),
        episode_return=jnp.zeros((num_envs,), jnp.float32),
        episode_length=jnp.zeros((num_envs,), jnp.int32),
        finished=jnp.zeros((num_envs,), bool),
    )


def unroll(
    env: Env,
    policy: Policy,
    state: RolloutState,
    key: jax.Array,
    num_steps: int,
    *,
    auto_reset: bool = True,
) -> tuple[RolloutState, Trajectory, EpisodeLog]:
    """Runs `num_steps` steps from `state`.

    The policy's state is re-initialized for every environment whose episode
    ends, so chunk queues and histories never span two episodes. Without
    auto-reset, an environment keeps stepping after its episode ends, and only
    its first ending is logged.

    Args:
      env: the unbatched environment (as from `ilax.envs.make`).
      policy: the policy, acting on `[B]`-batched observations.
      state: from `start` (with the same `auto_reset`) or a previous `unroll`.
      key: typed key; step t uses `fold_in(key, t)`.
      num_steps: control steps to run.
      auto_reset: restart finished environments.

    Returns:
      The new `RolloutState`, the time-major `Trajectory` `[T, B, ...]` and
      the `EpisodeLog` `[T, B]` of episodes that ended.
    """
    batched = batch(env, auto_reset)
    num_envs = state.episode_length.shape[0]

    stateful = bool(jax.tree.leaves(state.policy))

    def one_step(carry: RolloutState, t):
        key_act = jax.random.fold_in(key, t)
        if stateful:
            key_act, key_reinit = jax.random.split(key_act)
        env_state = carry.env
        observation = Observation(env_state.obs, env_state.privileged)
        action, policy_state, extras = policy.step(carry.policy, observation, key_act)
        next_state = batched.step(env_state, action)
        done = next_state.done
        if stateful:  # a stateless policy has nothing to restart
            fresh = policy.init(key_reinit, (num_envs,))
            policy_state = jax.tree.map(
                lambda new, old: jnp.where(
                    done.reshape(done.shape + (1,) * (new.ndim - 1)), new, old
                ),
                fresh,
                policy_state,
            )
        episode_return = carry.episode_return + next_state.reward
        episode_length = carry.episode_length + 1
        logged = done & ~carry.finished
        log = EpisodeLog(
            done=logged,
            episode_return=episode_return,
            length=episode_length,
            metrics=next_state.metrics,
        )
        next_obs = next_state.info["final_obs"] if auto_reset else next_state.obs
        transition = Trajectory(
            obs=env_state.obs,
            privileged=env_state.privileged,
            action=action,
            reward=next_state.reward,
            terminated=next_state.info["terminated"],
            truncated=next_state.info["truncated"],
            next_obs=next_obs,
            extras=extras,
        )
        carry = RolloutState(
            env=next_state,
            policy=policy_state,
            episode_return=jnp.where(done, 0.0, episode_return),
            episode_length=jnp.where(done, 0, episode_length),
            finished=carry.finished | (done if not auto_reset else False),
        )
        return carry, (transition, log)

    state, (trajectory, log) = jax.lax.scan(
        one_step, state, jnp.arange(num_steps, dtype=jnp.int32)
    )
    return state, trajectory, log


def rollout(
    env: Env,
    policy: Policy,
    key: jax.Array,
    num_envs: int,
    num_steps: int,
    *,
    auto_reset: bool = True,
) -> tuple[Trajectory, EpisodeLog]:
    """Runs `policy` in `num_envs` fresh environments for `num_steps` steps.

    One `lax.scan` over time of the batched environment; jit it at the call
    site with `num_envs` and `num_steps` static, e.g.
    `jax.jit(functools.partial(rollout, env, policy), static_argnums=(1, 2))`.

    Returns:
      The time-major `Trajectory` `[T, B, ...]` and the `EpisodeLog` `[T, B]`.
    """
    key_start, key_steps = jax.random.split(key)
    state = start(env, policy, key_start, num_envs, auto_reset=auto_reset)
    _, trajectory, log = unroll(
        env, policy, state, key_steps, num_steps, auto_reset=auto_reset
    )
    return trajectory, log
