"""Pendulum swing-up: a torque-limited pendulum must be swung up and held.

The motor's torque is a fifth of the bob's gravity torque, so the expert pumps
energy before balancing. Observations are (cos, sin, angular velocity) of the
angle from upright; the privileged state is (qpos, qvel).
"""

import dataclasses

import jax
import jax.numpy as jnp

from ilax.envs import base, registry


@dataclasses.dataclass(kw_only=True)
class PendulumConfig(base.MjxConfig):
    """Pendulum swing-up settings."""

    timestep: float = 0.01
    n_substeps: int = 5
    episode_length: int = 200
    iterations: int = 1
    ls_iterations: int = 1
    upright_angle: float = 0.2
    """Angle from upright (rad) within which the pole counts as upright."""
    control_cost: float = 0.001
    """Weight of the squared motor torque (N m) in the cost."""


class Pendulum(base.MjxEnv):
    """Swing-up from a uniformly random angle; success is upright at the end."""

    name = "pendulum"

    def __init__(self, config: PendulumConfig):
        super().__init__(config, base.load_model("pendulum.xml"))
        self._gear = float(self.mj_model.actuator_gear[0, 0])

    def reset(self, key: jax.Array) -> base.State:
        key_angle, key_velocity = jax.random.split(key)
        qpos = jax.random.uniform(key_angle, (1,), minval=-jnp.pi, maxval=jnp.pi)
        qvel = jax.random.uniform(key_velocity, (1,), minval=-1.0, maxval=1.0)
        return self.state_from_privileged(jnp.concatenate([qpos, qvel]))

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh state at privileged state (qpos, qvel); used by planners."""
        data = self.make_data(privileged[:1], privileged[1:])
        return base.State.create(
            data=data,
            obs=self._observe(data),
            privileged=privileged,
            reward=0.0,
            terminated=False,
            metrics={"upright": self._upright(data), "success": self._upright(data)},
            info={},
        )

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        action = jnp.clip(action, -1.0, 1.0)
        data = self.physics_step(state.data, action)
        angle = base.wrap_angle(data.qpos[0])
        torque = self._gear * action[0]
        cost = angle**2 + 0.1 * data.qvel[0] ** 2 + self.config.control_cost * torque**2
        upright = self._upright(data)
        return base.State.create(
            data=data,
            obs=self._observe(data),
            privileged=jnp.concatenate([data.qpos, data.qvel]),
            reward=-cost,
            terminated=False,
            metrics={"upright": upright, "success": upright},
            info=state.info,
        )

    def _observe(self, data) -> jax.Array:
        angle = data.qpos[0]
        return jnp.stack([jnp.cos(angle), jnp.sin(angle), data.qvel[0]])

    def _upright(self, data) -> jax.Array:
        angle = base.wrap_angle(data.qpos[0])
        return (jnp.abs(angle) < self.config.upright_angle).astype(jnp.float32)


registry.register("pendulum", Pendulum, PendulumConfig)
