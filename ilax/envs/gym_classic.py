"""Gymnasium's Pendulum-v1 in plain JAX ("gym/Pendulum-v1").

The classic torque-limited swing-up with Gymnasium's exact dynamics, so that
returns compare with the RL and imitation literature (GAIL's paper among
them). It differs from ilax's own "pendulum" task, a MuJoCo model with its
own constants; this one is the closed-form model Gymnasium integrates:

    thdot' = clip(thdot + (3 g / (2 l) sin th + 3 / (m l^2) u) dt, +-max_speed)
    th'    = th + thdot' dt

with the torque u clipped to +-max_torque, th measured from upright (th = 0
is the pole up) and never wrapped. The reward is charged on the state before
the step and the clipped torque:

    -(wrap(th)^2 + 0.1 thdot^2 + 0.001 u^2),   wrap(th) in [-pi, pi)

An episode starts from th ~ U(-pi, pi), thdot ~ U(-1, 1) (the bounds are
Gymnasium's reset options `x_init`, `y_init`), lasts 200 steps and never
terminates. Observation: (cos th, sin th, thdot); privileged state: (th,
thdot), the whole state, so `state_from_privileged` restores an episode.
Metrics: the three reward terms, which sum to the reward.

There is no simulator: `State.data` is empty. Gymnasium's state is float64
and ilax's float32, so trajectories part slowly (most where the pendulum
passes upright, an unstable equilibrium); under `jax_enable_x64` the state
is float64 and the operations, order and precision are Gymnasium's (its
torque terms are float32), and trajectories agree to rounding.
`tests/envs/test_gym_tasks.py` compares them step for step.
"""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from ilax import config as config_lib
from ilax.envs import base, registry
from ilax.envs.locomotion import _as_metrics


@dataclasses.dataclass(kw_only=True)
class GymPendulumConfig:
    """Pendulum-v1 settings; the defaults are Gymnasium's."""

    g: float = 10.0
    """Gravitational acceleration (m/s^2); Gymnasium's constructor argument."""
    mass: float = 1.0
    """Mass of the pendulum (kg)."""
    length: float = 1.0
    """Length of the pendulum (m)."""
    dt: float = 0.05
    """Control period (s), one explicit integration step."""
    max_speed: float = 8.0
    """Bound of the angular velocity (rad/s), applied after every step."""
    max_torque: float = 2.0
    """Bound of the torque (N m); actions beyond it are clipped."""
    init_angle: float = float(np.pi)
    """Reset draws the angle from U(-init_angle, init_angle) (`x_init`)."""
    init_velocity: float = 1.0
    """Reset draws the angular velocity from U(-init_velocity, init_velocity)
    (`y_init`)."""
    episode_length: int = 200
    """Control steps after which an episode is truncated."""


def _validate(config: GymPendulumConfig) -> None:
    """Raises ValueError naming the first invalid field of `config`."""
    config_lib.check_fields(
        config,
        positive=(
            "mass",
            "length",
            "dt",
            "max_speed",
            "max_torque",
            "episode_length",
        ),
        non_negative=("g", "init_angle", "init_velocity"),
    )


class GymPendulum(base.Env):
    """Pendulum-v1: swing a torque-limited pendulum up and hold it there."""

    name = "gym/Pendulum-v1"

    def __init__(self, config: GymPendulumConfig):
        _validate(config)
        self.config = config
        # Angular acceleration per unit of sin(th) and per unit of torque.
        self._gravity_gain = 3.0 * config.g / (2.0 * config.length)
        self._torque_gain = 3.0 / (config.mass * config.length**2)

    @property
    def dt(self) -> float:
        """Control period in seconds."""
        return self.config.dt

    @property
    def observation_size(self) -> int:
        return 3

    @property
    def privileged_size(self) -> int:
        return 2

    @property
    def action_size(self) -> int:
        return 1

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        bound = np.full((1,), self.config.max_torque, np.float32)
        return -bound, bound

    def reset(self, key: jax.Array) -> base.State:
        bounds = jnp.array([self.config.init_angle, self.config.init_velocity])
        privileged = jax.random.uniform(key, (2,), minval=-bounds, maxval=bounds)
        return self.state_from_privileged(privileged)

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh episode at privileged state (th, thdot); used by planners."""
        # float32, or float64 under jax_enable_x64 (as Gymnasium computes).
        privileged = jnp.asarray(privileged, jnp.result_type(float))
        zero = jnp.zeros((), jnp.float32)
        return _state(privileged, {name: zero for name in _REWARD_TERMS}, {})

    def step(self, state: base.State, action: jax.Array) -> base.State:
        action = base.check_action(action, self.action_size, type(self).__name__)
        action_ok = jnp.all(jnp.isfinite(action))
        next_state = self._step(state, jnp.where(action_ok, action, 0.0))
        return base.guard_non_finite(state, base.strip_weak_type(next_state), action_ok)

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        config = self.config
        angle, velocity = state.privileged[0], state.privileged[1]
        # The torque's terms stay in float32, the action's dtype, also under
        # jax_enable_x64: NumPy keeps Gymnasium's float32 torque times a
        # Python float in float32 before adding it to the float64 state.
        torque = jnp.clip(action[0], -config.max_torque, config.max_torque)
        torque = torque.astype(jnp.float32)
        terms = {
            "reward_angle": -jnp.square(base.wrap_angle(angle)),
            "reward_velocity": -0.1 * jnp.square(velocity),
            "reward_ctrl": -0.001 * jnp.square(torque),
        }
        acceleration = self._gravity_gain * jnp.sin(angle) + self._torque_gain * torque
        velocity = jnp.clip(
            velocity + acceleration * config.dt, -config.max_speed, config.max_speed
        )
        angle = angle + velocity * config.dt
        return _state(jnp.stack([angle, velocity]), terms, state.info)


_REWARD_TERMS = ("reward_angle", "reward_velocity", "reward_ctrl")


def _state(privileged: jax.Array, terms: dict, info: dict) -> base.State:
    """The state at (th, thdot); the reward is the sum of the reward terms."""
    angle, velocity = privileged[0], privileged[1]
    return base.State.create(
        data=(),
        obs=jnp.stack([jnp.cos(angle), jnp.sin(angle), velocity]),
        privileged=privileged,
        # -(a + b + c) in Gymnasium; negation is exact, so the sum agrees.
        reward=sum(terms.values()),
        terminated=False,
        metrics=_as_metrics(terms),
        info=info,
    )


registry.register("gym/Pendulum-v1", GymPendulum, GymPendulumConfig)
