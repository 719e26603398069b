"""What the policy-gradient learners (PPO, TRPO) share: the actor-critic.

A policy-gradient learner improves a Gaussian policy from the trajectories
it collects itself. The pieces here are the same for every such learner:

- `PolicyGradientConfig`: the actor-critic's networks, its action mapping,
  the discount, GAE's lambda, reward scaling and the running input
  normalization.
- `actor_critic(config, ...)`: the two networks and the functions over them
  (`ActorCritic`): the behaviour policy that explores (its extras hold the
  Gaussian sample and its log-probability, which the update reads back), the
  deterministic policy that is evaluated and deployed, and `advantages`,
  which turns a `Trajectory` into flat `OnPolicyRows` with GAE advantages
  and value targets.
- `policy_learner`: the `PolicyLearner` around a learner's own step, with
  what PPO and TRPO do alike (state, advantages by `ilax.algorithms.
  advantages.gae`, non-finite refusal, input statistics, policies).

The actions live in the environment's units. Without `tanh_squash` the
Gaussian sample is clipped to the action bounds before the environment sees
it (the log-probability is the sample's, as PPO implementations do); with
it, the sample passes through a tanh scaled onto the bounds.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from ilax import config as config_lib
from ilax.algorithms import advantages as advantages_lib
from ilax.algorithms import base, checks, optim
from ilax.data.normalizer import RunningNormalizer
from ilax.networks import (
    Gaussian,
    gaussian_log_prob,
    mlp,
    state_independent_gaussian_mlp,
)
from ilax.types import (
    Metrics,
    Observation,
    Params,
    Policy,
    PolicyLearner,
    TrainState,
    Trajectory,
)


@dataclasses.dataclass(kw_only=True)
class PolicyGradientConfig(base.LearnerConfig):
    """The actor-critic of a policy-gradient learner.

    `normalize` standardizes the input with running statistics of every
    observation collected so far (updated after each policy step); `min_std`
    floors their std. `input` must be `obs`: a trajectory records the next
    observation only of that field, which the value bootstrap needs.
    """

    hidden_sizes: tuple[int, ...] = (64, 64)
    """Widths of the hidden layers of the policy and of the value network."""
    activation: str = "tanh"
    """Hidden-layer activation: relu, tanh, gelu, silu or elu."""
    init_log_std: float = 0.0
    """Initial log std of the Gaussian policy, the same in every state."""
    min_log_std: float = -5.0
    """Lower bound of the log std: after every step the parameter is
    projected back into [min_log_std, max_log_std]."""
    max_log_std: float = 2.0
    """Upper bound of the log std."""
    tanh_squash: bool = False
    """Pass the Gaussian sample through a tanh scaled onto the action bounds
    (otherwise it is clipped to them)."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda: 0 is one-step TD, 1 the Monte Carlo return."""
    reward_scale: float = 1.0
    """Rewards are multiplied by this before the advantages are computed."""
    observation_clip: float = 10.0
    """Normalized inputs are clipped to +-observation_clip."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        super().check()
        owner = type(self).__name__
        config_lib.check_choice(owner, "input", self.input, ("obs",))
        checks.check_network_fields(self)
        config_lib.check_fields(self, positive=("reward_scale", "observation_clip"))
        if not self.min_log_std <= self.init_log_std <= self.max_log_std:
            raise ValueError(
                f"{owner}.init_log_std must lie in [min_log_std, max_log_std] = "
                f"[{self.min_log_std}, {self.max_log_std}]; got {self.init_log_std!r}"
            )
        if not self.min_log_std < self.max_log_std:
            raise ValueError(
                f"{owner}.min_log_std must be < max_log_std ({self.max_log_std}); "
                f"got {self.min_log_std!r}"
            )
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"{owner}.gamma must be in (0, 1]; got {self.gamma!r}")
        if not 0.0 <= self.gae_lambda <= 1.0:
            raise ValueError(
                f"{owner}.gae_lambda must be in [0, 1]; got {self.gae_lambda!r}"
            )


class OnPolicyRows(NamedTuple):
    """A trajectory's steps as flat rows, ready for a policy-gradient step."""

    obs: jax.Array  # [N, O] raw input field
    raw_action: jax.Array  # [N, A] the Gaussian sample (before clip or tanh)
    log_prob: jax.Array  # [N] its log-probability under the behaviour policy
    advantage: jax.Array  # [N] GAE advantage
    target: jax.Array  # [N] value target: advantage + old value
    value: jax.Array  # [N] the old value estimate


class ActorCritic(NamedTuple):
    """The functions of a policy-gradient learner's networks (see the module)."""

    init_params: object  # key -> {"policy": ..., "value": ...}
    distribution: object  # (params, normalizer, raw_obs) -> Gaussian
    value: object  # (params, normalizer, raw_obs) -> [...]
    behaviour: object  # (params, normalizer) -> Policy, extras raw_action, log_prob
    log_prob: object  # (params, normalizer, raw_obs, action) -> [...] (see below)
    deterministic: object  # (params, normalizer) -> Policy acting with the mean
    advantages: object  # (params, normalizer, Trajectory) -> (OnPolicyRows, metrics)
    project: object  # params -> params with the log std inside its bounds
    check_trajectory: object  # (Trajectory, where) -> None, raises naming the field
    observation_size: int
    action_size: int


def actor_critic(
    config: PolicyGradientConfig,
    *,
    observation_size: int,
    action_size: int,
    action_bounds: tuple,
    owner: str,
) -> ActorCritic:
    """The actor-critic of `config` for an environment of these sizes and bounds.

    Raises:
      ValueError: an invalid config field or size, naming it.
    """
    config.check()
    checks.check_sizes(
        f"{owner.lower()}.make",
        observation_size=observation_size,
        action_size=action_size,
    )
    low, high = (jnp.asarray(b, jnp.float32) for b in action_bounds)
    layers = base.mlp_layers(config)
    policy_net = state_independent_gaussian_mlp(
        observation_size, action_size, init_log_std=config.init_log_std, **layers
    )
    value_net = mlp(observation_size, 1, **layers)

    def init_params(key: jax.Array) -> Params:
        key_policy, key_value = jax.random.split(key)
        return {
            "policy": policy_net.init(key_policy),
            "value": value_net.init(key_value),
        }

    def inputs(normalizer: RunningNormalizer, raw_obs: jax.Array) -> jax.Array:
        if not config.normalize:
            return jnp.asarray(raw_obs, jnp.float32)
        return normalizer.normalize(
            raw_obs, min_std=config.min_std, clip=config.observation_clip
        )

    def distribution(params, normalizer, raw_obs) -> Gaussian:
        return policy_net.apply(params["policy"], inputs(normalizer, raw_obs))

    def value(params, normalizer, raw_obs) -> jax.Array:
        return value_net.apply(params["value"], inputs(normalizer, raw_obs))[..., 0]

    def to_action(raw_action: jax.Array) -> jax.Array:
        shape = raw_action.shape
        lo, hi = jnp.broadcast_to(low, shape), jnp.broadcast_to(high, shape)
        if config.tanh_squash:
            return lo + 0.5 * (jnp.tanh(raw_action) + 1.0) * (hi - lo)
        return jnp.clip(raw_action, lo, hi)

    def log_prob(params, normalizer, raw_obs, action) -> jax.Array:
        # The density of an executed action (the expert's, or the policy's
        # after the clip): the Gaussian's at the action itself when actions
        # are clipped, and at its pre-image, with the change of variables,
        # when they are tanh-squashed.
        dist = distribution(params, normalizer, raw_obs)
        action = jnp.asarray(action, jnp.float32)
        if not config.tanh_squash:
            return gaussian_log_prob(dist, action)
        lo, hi = (
            jnp.broadcast_to(low, action.shape),
            jnp.broadcast_to(high, action.shape),
        )
        unit = jnp.clip(2.0 * (action - lo) / (hi - lo) - 1.0, -1.0 + 1e-6, 1.0 - 1e-6)
        jacobian = jnp.log1p(-(unit**2)) + jnp.log(0.5 * (hi - lo))
        return gaussian_log_prob(dist, jnp.arctanh(unit)) - jnp.sum(jacobian, -1)

    def behaviour(params, normalizer) -> Policy:
        def step(state, observation: Observation, key: jax.Array):
            dist = distribution(params, normalizer, observation.obs)
            noise = jax.random.normal(key, dist.mean.shape, dist.mean.dtype)
            raw_action = dist.mean + jnp.exp(dist.log_std) * noise
            extras = {
                "raw_action": raw_action,
                "log_prob": gaussian_log_prob(dist, raw_action),
            }
            return to_action(raw_action), state, extras

        return Policy(init=lambda key, batch_shape: (), step=step)

    def deterministic(params, normalizer) -> Policy:
        def step(state, observation: Observation, key: jax.Array):
            del key
            return (
                to_action(distribution(params, normalizer, observation.obs).mean),
                state,
                {},
            )

        return Policy(init=lambda key, batch_shape: (), step=step)

    def check_trajectory(trajectory: Trajectory, where: str) -> None:
        for name, value_ in (
            ("obs", trajectory.obs),
            ("next_obs", trajectory.next_obs),
        ):
            checks.check_width(owner, where, name, value_, observation_size)
        for name in ("raw_action", "log_prob"):
            if name not in trajectory.extras:
                raise ValueError(
                    f"{owner} {where}: trajectory.extras must hold {name!r} (collect "
                    f"with the learner's make_behaviour policy); got "
                    f"{sorted(trajectory.extras)}"
                )
        checks.check_width(
            owner,
            where,
            "extras['raw_action']",
            trajectory.extras["raw_action"],
            action_size,
        )

    def advantages(params, normalizer, trajectory: Trajectory):
        check_trajectory(trajectory, "update")
        values = value(params, normalizer, trajectory.obs)
        next_values = value(params, normalizer, trajectory.next_obs)
        # A state that went non-finite (the environment truncated it) has no
        # value to bootstrap from.
        next_values = jnp.where(jnp.isfinite(next_values), next_values, 0.0)
        reward = config.reward_scale * trajectory.reward.astype(jnp.float32)
        done = trajectory.terminated | trajectory.truncated
        advantage, target = advantages_lib.gae(
            reward,
            values,
            next_values,
            trajectory.terminated,
            done,
            gamma=config.gamma,
            lam=config.gae_lambda,
        )
        rows = OnPolicyRows(
            obs=trajectory.obs,
            raw_action=trajectory.extras["raw_action"],
            log_prob=trajectory.extras["log_prob"],
            advantage=advantage,
            target=target,
            value=values,
        )
        rows = jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:]), rows)
        metrics = {
            "value/mean": jnp.mean(values),
            "value/explained_variance": advantages_lib.explained_variance(
                values, target
            ),
            "advantage/std": jnp.std(advantage),
        }
        return rows, metrics

    def project(params: Params) -> Params:
        policy = dict(params["policy"])
        policy["log_std"] = jnp.clip(
            policy["log_std"], config.min_log_std, config.max_log_std
        )
        return {**params, "policy": policy}

    return ActorCritic(
        init_params=init_params,
        distribution=distribution,
        value=value,
        behaviour=behaviour,
        log_prob=log_prob,
        deterministic=deterministic,
        advantages=advantages,
        project=project,
        check_trajectory=check_trajectory,
        observation_size=observation_size,
        action_size=action_size,
    )


def refuse_non_finite(
    rows: OnPolicyRows,
    old: TrainState,
    stepped: TrainState,
    metrics: Metrics,
    num_steps: int,
) -> tuple[TrainState, Metrics]:
    """`stepped`, or `old` with its step count advanced if `rows` hold NaN or inf.

    A policy step is taken on all of an iteration's rows or on none: where
    the advantages or value targets are not finite, the parameters and the
    optimizer state stay `old`'s and `train/nonfinite` counts all
    `num_steps` optimizer steps of the update as skipped.
    """
    finite = jnp.all(jnp.isfinite(rows.advantage)) & jnp.all(jnp.isfinite(rows.target))
    kept = {"params": stepped.params, "opt_state": stepped.opt_state}
    current = {"params": old.params, "opt_state": old.opt_state}
    state = stepped.replace(**optim.keep_if_finite(finite, kept, current))
    metrics = {
        **metrics,
        "train/nonfinite": jnp.where(
            finite, metrics["train/nonfinite"], jnp.float32(num_steps)
        ),
    }
    return state, metrics


def policy_learner(
    config: PolicyGradientConfig,
    ac: ActorCritic,
    *,
    init_opt_state: Callable[[Params], Any],
    policy_step: Callable[..., tuple[TrainState, Metrics]],
    num_steps: int,
) -> PolicyLearner:
    """The `PolicyLearner` of an actor-critic and a learner's own step.

    What PPO and TRPO do alike is here: the train state (`TrainState` with
    the running input statistics, from the identity), the advantages before
    the step, the refusal of non-finite advantages, the statistics refreshed
    after the step, and the two policies.

    Args:
      config: the learner's config.
      ac: its actor-critic.
      init_opt_state: `params -> optimizer state` of a fresh learner.
      policy_step: `(state, rows, key) -> (stepped state, metrics)`: the
        learner's own update on an iteration's `OnPolicyRows`.
      num_steps: the optimizer steps of one update, counted as skipped
        when the advantages are not finite.
    """

    def init(key: jax.Array) -> TrainState:
        params = ac.init_params(key)
        return base.TrainState(
            params=params,
            opt_state=init_opt_state(params),
            step=jnp.zeros((), jnp.int32),
            normalizer=RunningNormalizer.create(ac.observation_size),
        )

    def update(state: TrainState, trajectory: Trajectory, key: jax.Array):
        rows, metrics = ac.advantages(state.params, state.normalizer, trajectory)
        stepped, step_metrics = policy_step(state, rows, key)
        metrics.update(step_metrics)
        state, metrics = refuse_non_finite(rows, state, stepped, metrics, num_steps)
        metrics["policy/log_std"] = jnp.mean(state.params["policy"]["log_std"])
        if config.normalize:
            # Refreshed only from data the step accepted.
            refreshed = state.normalizer.update(trajectory.obs)
            finite = jnp.all(jnp.isfinite(rows.advantage)) & jnp.all(
                jnp.isfinite(rows.target)
            )
            state = state.replace(
                normalizer=jax.tree.map(
                    lambda new, old: jnp.where(finite, new, old),
                    refreshed,
                    state.normalizer,
                )
            )
        return state, metrics

    return PolicyLearner(
        init=init,
        update=update,
        make_behaviour=lambda state: ac.behaviour(state.params, state.normalizer),
        make_policy=lambda state: ac.deterministic(state.params, state.normalizer),
        log_prob=lambda state, obs, action: ac.log_prob(
            state.params, state.normalizer, obs, action
        ),
    )
