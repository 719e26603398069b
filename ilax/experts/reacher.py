"""Operational-space expert for the planar reachers ("reacher2", "reacher3").

Resolved-rate control: the fingertip is commanded a velocity toward the target
(proportional to the error, capped in speed), a damped least-squares inverse of
the planar Jacobian turns it into joint velocities, and a joint-velocity loop
turns those into torques, clipped to the motors' range. On the three-link arm,
the redundant joint motion is spent in the Jacobian's null space pulling every
joint but the shoulder toward a quarter turn, away from the stretched and
folded postures where the arm loses a direction of motion.

The expert reads only the privileged state (qpos, qvel, target), so it labels
any state.
"""

import dataclasses

import jax
import jax.numpy as jnp

from ilax import config as config_lib
from ilax import policies
from ilax.envs import reacher as reacher_env
from ilax.experts import registry
from ilax.types import Observation, Policy


@dataclasses.dataclass(kw_only=True)
class ReacherExpertConfig:
    """Gains of the resolved-rate reaching expert."""

    position_gain: float = 15.0
    """Commanded fingertip speed (m/s) per metre of distance to the target."""
    max_speed: float = 1.5
    """Cap (m/s) on the commanded fingertip speed."""
    damping: float = 0.02
    """Damping (m) of the least-squares inverse; bounds joint speeds near
    singular postures."""
    velocity_gain: float = 0.05
    """Torque (N m) per rad/s of joint-velocity error."""
    posture_gain: float = 2.0
    """Null-space joint speed (rad/s) toward well-conditioned bends per unit of
    the posture objective's gradient; used when the arm has over two links."""


def make_reacher_expert(env, **overrides) -> Policy:
    """The resolved-rate expert of a reacher task.

    Args:
      env: a reacher environment, possibly wrapped.
      **overrides: fields of `ReacherExpertConfig`.

    Returns:
      A stateless `Policy` reading `observation.privileged`.
    """
    config = config_lib.replace(ReacherExpertConfig(), **overrides)
    config_lib.check_fields(
        config,
        positive=("position_gain", "max_speed", "damping", "velocity_gain"),
        non_negative=("posture_gain",),
    )
    task = env.unwrapped
    num_links = task.config.num_links
    link_lengths = jnp.asarray(task.link_lengths)
    gear = jnp.asarray(task.mj_model.actuator_gear[:, 0], jnp.float32)
    low, high = (jnp.asarray(bound) for bound in task.action_bounds)

    def act(observation: Observation, key: jax.Array) -> jax.Array:
        del key
        privileged = observation.privileged
        qpos = privileged[:num_links]
        qvel = privileged[num_links : 2 * num_links]
        target = privileged[2 * num_links :]
        error = target - reacher_env.fingertip_position(qpos, link_lengths)
        command = config.position_gain * error
        speed = jnp.linalg.norm(command)
        command = command * jnp.minimum(1.0, config.max_speed / (speed + 1e-9))
        jacobian = reacher_env.fingertip_jacobian(qpos, link_lengths)
        regularized = jacobian @ jacobian.T + config.damping**2 * jnp.eye(2)
        inverse = jacobian.T @ jnp.linalg.inv(regularized)
        joint_speed = inverse @ command
        if num_links > 2:
            # sin^2 of a bend peaks at a quarter turn; its gradient is sin(2q).
            bends = qpos.at[0].set(0.0)
            null_space = jnp.eye(num_links) - inverse @ jacobian
            joint_speed = joint_speed + null_space @ (
                config.posture_gain * jnp.sin(2.0 * bends)
            )
        torque = config.velocity_gain * (joint_speed - qvel)
        return jnp.clip(torque / gear, low, high)

    return policies.stateless(act)


registry.register("reacher2", make_reacher_expert)
registry.register("reacher3", make_reacher_expert)
