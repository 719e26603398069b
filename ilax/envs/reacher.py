"""Planar reachers with two and three links ("reacher2", "reacher3").

The two arms are an embodiment pair for transfer experiments: the same 0.2 m
reach, the same joints, motors and rotor inertia, the same target distribution
and the same observation layout (per joint blocks, then the target). The arm
moves in the horizontal plane, so gravity does no work, and nothing collides.

Observation: cos and sin of the joint angles, joint velocities, the target
position and the fingertip-minus-target vector (`3 * num_links + 4` values).
Privileged state: qpos, qvel and the target position (`2 * num_links + 2`).
Reward: minus the fingertip's distance to the target minus a small control
cost. An episode succeeds when the fingertip is within `success_distance` of
the target at its last step.

The fingertip comes from planar forward kinematics of qpos, not from the
simulator: MJX's body positions after a step still describe the state before
the last integration, and the closed form is exact and cheap.
"""

import dataclasses
import functools

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from mujoco import mjx

from ilax import config as config_lib
from ilax.envs import base, registry

_LINK_COUNTS = (2, 3)


@dataclasses.dataclass(kw_only=True)
class ReacherConfig(base.MjxConfig):
    """Planar reacher settings."""

    timestep: float = 0.01
    n_substeps: int = 2
    episode_length: int = 50
    iterations: int = 1
    ls_iterations: int = 1
    num_links: int = 2
    """Links of the arm: 2 ("reacher2") or 3 ("reacher3"); the reach is 0.2 m."""
    target_min_radius: float = 0.05
    """Least distance (m) of the target from the shoulder; keeps targets away
    from the folded-arm singularity at the base."""
    target_max_radius: float = 0.18
    """Greatest distance (m) of the target from the shoulder; below the reach,
    so targets stay away from the singular full stretch."""
    success_distance: float = 0.02
    """Fingertip-to-target distance (m) under which the arm is on target."""
    control_cost: float = 0.01
    """Weight of the squared action (in [-1, 1] units, summed over joints)."""
    initial_bend: float = 2.0
    """Half-width (rad) of the uniform initial angle of every joint but the
    shoulder, whose initial angle is uniform on the circle."""
    initial_speed: float = 0.1
    """Half-width (rad/s) of the uniform initial joint velocities."""


def fingertip_position(qpos: jax.Array, link_lengths: jax.Array) -> jax.Array:
    """Planar forward kinematics: the fingertip's (x, y) relative to the shoulder.

    Args:
      qpos: joint angles `[n]`, each relative to the previous link.
      link_lengths: `[n]` lengths in metres.
    """
    heading = jnp.cumsum(qpos)
    return jnp.stack(
        [
            jnp.sum(link_lengths * jnp.cos(heading)),
            jnp.sum(link_lengths * jnp.sin(heading)),
        ]
    )


def fingertip_jacobian(qpos: jax.Array, link_lengths: jax.Array) -> jax.Array:
    """d(fingertip)/d(qpos), `[2, n]`.

    Joint j turns every link from j outwards, so its column is the sum over
    those links of the link vector turned by 90 degrees.
    """
    heading = jnp.cumsum(qpos)
    link_x = link_lengths * jnp.cos(heading)
    link_y = link_lengths * jnp.sin(heading)

    def outward_sum(values):
        return jnp.cumsum(values[::-1])[::-1]

    return jnp.stack([-outward_sum(link_y), outward_sum(link_x)])


class Reacher(base.MjxEnv):
    """An arm of `num_links` links reaching a random target in the plane.

    The task's name ("reacher2" or "reacher3") follows the link count, so the
    expert registry finds the same expert for both.
    """

    name = "reacher"

    def __init__(self, config: ReacherConfig):
        owner = type(config).__name__
        config_lib.check_choice(owner, "num_links", config.num_links, _LINK_COUNTS)
        for field in ("target_min_radius", "success_distance"):
            config_lib.check_positive(owner, field, getattr(config, field))
        for field in ("control_cost", "initial_bend", "initial_speed"):
            config_lib.check_non_negative(owner, field, getattr(config, field))
        mj_model = base.load_model(f"reacher{config.num_links}.xml")
        super().__init__(config, mj_model)
        self.name = f"reacher{config.num_links}"
        self.link_lengths = _link_lengths(mj_model, config.num_links)
        self.reach = float(self.link_lengths.sum())
        if not config.target_min_radius < config.target_max_radius < self.reach:
            raise ValueError(
                f"{owner}.target_max_radius must lie between target_min_radius "
                f"({config.target_min_radius!r}) and the reach ({self.reach:.3f} m); "
                f"got {config.target_max_radius!r}"
            )
        self._num_links = config.num_links
        self._fingertip = functools.partial(
            fingertip_position, link_lengths=jnp.asarray(self.link_lengths)
        )

    def reset(self, key: jax.Array) -> base.State:
        key_qpos, key_qvel, key_radius, key_bearing = jax.random.split(key, 4)
        n, config = self._num_links, self.config
        half_range = np.array([np.pi] + [config.initial_bend] * (n - 1), np.float32)
        qpos = jax.random.uniform(key_qpos, (n,), minval=-half_range, maxval=half_range)
        qvel = jax.random.uniform(
            key_qvel, (n,), minval=-config.initial_speed, maxval=config.initial_speed
        )
        # Uniform over the annulus's area: the radius's square is uniform.
        radius = jnp.sqrt(
            jax.random.uniform(
                key_radius,
                minval=config.target_min_radius**2,
                maxval=config.target_max_radius**2,
            )
        )
        bearing = jax.random.uniform(key_bearing, minval=-jnp.pi, maxval=jnp.pi)
        target = radius * jnp.stack([jnp.cos(bearing), jnp.sin(bearing)])
        return self.state_from_privileged(jnp.concatenate([qpos, qvel, target]))

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh state at privileged state (qpos, qvel, target); for planners."""
        n = self._num_links
        qpos, qvel, target = privileged[:n], privileged[n : 2 * n], privileged[2 * n :]
        mocap_pos = jnp.concatenate([target, jnp.zeros((1,), target.dtype)])[None]
        with base.mjx_scope():
            data = mjx.make_data(self.mjx_model)
            data = data.replace(qpos=qpos, qvel=qvel, mocap_pos=mocap_pos)
            data = mjx.forward(self.mjx_model, data)
        distance = jnp.linalg.norm(self._fingertip(qpos) - target)
        return base.State.create(
            data=data,
            obs=self._observe(qpos, qvel, target),
            privileged=privileged,
            reward=0.0,
            terminated=False,
            metrics=self._metrics(distance),
            info={"target": target},
        )

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        action = jnp.clip(action, -1.0, 1.0)
        data = self.physics_step(state.data, action)
        target = state.info["target"]
        distance = jnp.linalg.norm(self._fingertip(data.qpos) - target)
        reward = -distance - self.config.control_cost * jnp.sum(action**2)
        return base.State.create(
            data=data,
            obs=self._observe(data.qpos, data.qvel, target),
            privileged=jnp.concatenate([data.qpos, data.qvel, target]),
            reward=reward,
            terminated=False,
            metrics=self._metrics(distance),
            info=state.info,
        )

    def _observe(self, qpos, qvel, target) -> jax.Array:
        to_target = self._fingertip(qpos) - target
        return jnp.concatenate([jnp.cos(qpos), jnp.sin(qpos), qvel, target, to_target])

    def _metrics(self, distance) -> dict:
        on_target = (distance < self.config.success_distance).astype(jnp.float32)
        return {"distance": distance, "success": on_target}


def _link_lengths(mj_model: mujoco.MjModel, num_links: int) -> np.ndarray:
    """Link lengths read from the model: joint-to-joint, then joint-to-fingertip."""
    ends = [mj_model.body(f"link{i}").pos for i in range(2, num_links + 1)]
    ends.append(mj_model.site("fingertip").pos)
    return np.array([np.linalg.norm(end) for end in ends], np.float32)


registry.register("reacher2", Reacher, functools.partial(ReacherConfig, num_links=2))
registry.register("reacher3", Reacher, functools.partial(ReacherConfig, num_links=3))
