"""Gymnasium v5 classic MuJoCo tasks on MJX: the pendulums, Reacher and Swimmer.

Registered as "gym/InvertedPendulum-v5", "gym/InvertedDoublePendulum-v5",
"gym/Reacher-v5" and "gym/Swimmer-v5". Each follows its Gymnasium v5
definition exactly (model file, frame skip, observation, reward terms,
termination, reset noise, time limit), so returns are comparable with the RL
and imitation literature; `tests/envs/test_gym_tasks.py` checks them step
for step against Gymnasium's own environments. The model files are read from
the installed gymnasium package, never copied. None has contacts (only
joint limits), so they compile fast.

Swimmer is a locomotion task (forward velocity minus a control cost, the
observation without root x, y) and is an `ilax.envs.locomotion.LocomotionEnv`
like halfcheetah. The three others share `GymMujocoEnv`, which keeps the
locomotion tasks' model loading and reset noise and replaces the step: one
physics step, then a task hook returns the observation, the reward terms
(named as in Gymnasium's `info`; they sum to the reward) and the
termination. Privileged state is the full (qpos, qvel) for all four.

As in Gymnasium, positions read after a step (InvertedDoublePendulum's tip,
Reacher's fingertip) are those MuJoCo's RK4 step leaves in its data, computed
at the last Runge-Kutta stage, not at the integrated qpos; MJX leaves the
same. Gymnasium ends an InvertedPendulum episode whose observation is not
finite as terminated; in ilax every task ends such an episode as truncated,
with `metrics["nan"]` set (`ilax.envs.base.guard_non_finite`).
"""

import jax
import jax.numpy as jnp
import mujoco
from mujoco import mjx

from ilax import config as config_lib
from ilax.envs import base, registry
from ilax.envs.gym_mujoco_config import (
    GymMujocoConfig,
    InvertedDoublePendulumConfig,
    InvertedPendulumConfig,
    ReacherV5Config,
    SwimmerConfig,
)
from ilax.envs.locomotion import LocomotionEnv, _as_metrics


class GymMujocoEnv(LocomotionEnv):
    """Shared state and step of the non-locomotion Gymnasium v5 tasks.

    The construction (Gymnasium's model file, qpos0), the reset noise
    (`reset_noise_scale`, uniform or normal velocity noise) and the fresh
    state's kinematics are the locomotion tasks' own, so they are inherited;
    the step is replaced: after the physics, a task's `_evaluate` returns the
    observation, the reward terms and the termination. Subclasses set
    `model_file` and the class attributes below.
    """

    full_forward_at_reset: bool = False
    """Run a full `mjx.forward` on a fresh state (kinematics otherwise)."""
    non_negative_fields: tuple[str, ...] = ("reset_noise_scale",)
    """Config fields that must be >= 0."""

    def _validate(self, config: GymMujocoConfig) -> None:
        config_lib.check_fields(config, non_negative=self.non_negative_fields)

    def make_data(self, qpos: jax.Array, qvel: jax.Array) -> mjx.Data:
        """Simulator data at (qpos, qvel), as Gymnasium's `set_state` leaves it.

        Gymnasium runs `mj_forward`; only InvertedDoublePendulum observes
        more than positions (its constraint force), so the others propagate
        kinematics only (see `LocomotionEnv.make_data`).
        """
        if self.full_forward_at_reset:
            return base.MjxEnv.make_data(self, qpos, qvel)
        return super().make_data(qpos, qvel)

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh state at privileged state (qpos, qvel); used by planners."""
        nq = self.mj_model.nq
        data = self.make_data(privileged[:nq], privileged[nq:])
        obs, terms, _ = self._evaluate(data, jnp.zeros(self.action_size))
        zero = jnp.zeros((), jnp.float32)
        return self._state(data, obs, {name: zero for name in terms}, False, {})

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        # MuJoCo clamps ctrl to its range; Reacher's cost is on the raw action.
        data = self.physics_step(state.data, action)
        obs, terms, terminated = self._evaluate(data, action)
        return self._state(data, obs, terms, terminated, state.info)

    def _state(self, data, obs, terms, terminated, info) -> base.State:
        """The state at `data`; its reward is the sum of the reward terms."""
        return base.State.create(
            data=data,
            obs=obs,
            privileged=jnp.concatenate([data.qpos, data.qvel]),
            reward=sum(terms.values()),
            terminated=terminated,
            metrics=_as_metrics(terms),
            info=info,
        )

    def _evaluate(
        self, data: mjx.Data, action: jax.Array
    ) -> tuple[jax.Array, dict[str, jax.Array], jax.Array]:
        """(observation, reward terms, terminated) after a step into `data`."""
        raise NotImplementedError


class InvertedPendulum(GymMujocoEnv):
    """InvertedPendulum-v5: balance a pole on a cart; reward 1 per upright step.

    Observation: (qpos, qvel) = (cart x, pole angle, their velocities). The
    episode terminates once the pole leans more than 0.2 rad, and that step
    earns 0.
    """

    name = "gym/InvertedPendulum-v5"
    model_file = "inverted_pendulum.xml"
    supports_c_engine = True  # observes qpos and qvel only
    max_angle = 0.2
    """Gymnasium's bound on |pole angle| (rad), beyond which the episode ends."""

    def _evaluate(self, data, action):
        obs = jnp.concatenate([data.qpos, data.qvel])
        terminated = jnp.abs(data.qpos[1]) > self.max_angle
        return obs, {"reward_survive": 1.0 - terminated}, terminated


class InvertedDoublePendulum(GymMujocoEnv):
    """InvertedDoublePendulum-v5: balance two chained poles on a cart.

    Observation (9): cart x, sin and cos of both hinge angles, the clipped
    velocities and the clipped constraint force on the cart. The episode
    terminates when the tip (site "tip", at its last RK4 stage) is at or
    below 1 m; that step earns no survival reward. Penalties: the tip's
    distance from (0, 2 m) and the hinges' angular velocities.
    """

    name = "gym/InvertedDoublePendulum-v5"
    model_file = "inverted_double_pendulum.xml"
    full_forward_at_reset = True  # the observation holds qfrc_constraint
    normal_velocity_noise = True
    clip = 10.0
    """Gymnasium's bound of the observed velocities and constraint force."""
    min_tip_height = 1.0
    """The episode ends when the tip's height (m) is at most this."""

    def _evaluate(self, data, action):
        clip = self.clip
        obs = jnp.concatenate(
            [
                data.qpos[:1],
                jnp.sin(data.qpos[1:]),
                jnp.cos(data.qpos[1:]),
                jnp.clip(data.qvel, -clip, clip),
                jnp.clip(data.qfrc_constraint[:1], -clip, clip),
            ]
        )
        x, height = data.site_xpos[0, 0], data.site_xpos[0, 2]
        terminated = height <= self.min_tip_height
        hinge_speed = data.qvel[1:3]
        terms = {
            "reward_survive": self.config.healthy_reward * (1.0 - terminated),
            "distance_penalty": -(0.01 * x**2 + (height - 2.0) ** 2),
            "velocity_penalty": -(
                1e-3 * hinge_speed[0] ** 2 + 5e-3 * hinge_speed[1] ** 2
            ),
        }
        return obs, terms, terminated


class Reacher(GymMujocoEnv):
    """Reacher-v5: bring a two-link arm's fingertip to a random target.

    Observation (10): cos and sin of the two joint angles, the target's
    (x, y) (its slide joints), the joint velocities and the fingertip-minus-
    target (x, y). The target is drawn uniformly from the disc of radius
    0.2 m: Gymnasium draws from the square until a point falls inside, ilax
    draws radius and bearing, the same law. Never terminates; 50 steps.
    """

    name = "gym/Reacher-v5"
    model_file = "reacher.xml"
    non_negative_fields = ("reward_dist_weight", "reward_control_weight")
    qpos_noise = 0.1
    """Half-width of Gymnasium's uniform noise on the initial qpos."""
    qvel_noise = 0.005
    """Half-width of Gymnasium's uniform noise on the arm's initial qvel."""
    target_radius = 0.2
    """Radius (m) of the disc the target is drawn from."""

    def __init__(self, config: ReacherV5Config):
        super().__init__(config)
        body = mujoco.mjtObj.mjOBJ_BODY
        self._fingertip = mujoco.mj_name2id(self.mj_model, body, "fingertip")
        self._target = mujoco.mj_name2id(self.mj_model, body, "target")

    def reset(self, key: jax.Array) -> base.State:
        key_qpos, key_qvel, key_radius, key_bearing = jax.random.split(key, 4)
        nq, nv = self.mj_model.nq, self.mj_model.nv
        qpos = self._init_qpos + jax.random.uniform(
            key_qpos, (nq,), minval=-self.qpos_noise, maxval=self.qpos_noise
        )
        # Uniform over the disc's area: the radius's square is uniform.
        radius = self.target_radius * jnp.sqrt(jax.random.uniform(key_radius))
        bearing = jax.random.uniform(key_bearing, minval=-jnp.pi, maxval=jnp.pi)
        goal = radius * jnp.stack([jnp.cos(bearing), jnp.sin(bearing)])
        qpos = qpos.at[-2:].set(goal)
        qvel = jax.random.uniform(
            key_qvel, (nv,), minval=-self.qvel_noise, maxval=self.qvel_noise
        )
        qvel = qvel.at[-2:].set(0.0)
        return self.state_from_privileged(jnp.concatenate([qpos, qvel]))

    def _evaluate(self, data, action):
        config = self.config
        to_target = data.xpos[self._fingertip] - data.xpos[self._target]
        angles = data.qpos[:2]
        obs = jnp.concatenate(
            [
                jnp.cos(angles),
                jnp.sin(angles),
                data.qpos[2:],
                data.qvel[:2],
                to_target[:2],
            ]
        )
        terms = {
            "reward_dist": -config.reward_dist_weight * jnp.linalg.norm(to_target),
            "reward_ctrl": -config.reward_control_weight * jnp.sum(jnp.square(action)),
        }
        return obs, terms, jnp.zeros((), bool)


class Swimmer(LocomotionEnv):
    """Swimmer-v5: a three-link swimmer in a viscous fluid swims forward (+x).

    Reward: the x velocity of the root (the front segment's slide joints)
    minus a control cost; never terminates. Observation: qpos without the
    root's x and y, then qvel.
    """

    name = "gym/Swimmer-v5"
    model_file = "swimmer.xml"
    skipped_positions = 2
    supports_c_engine = True  # its step reads qpos and qvel only


registry.register("gym/InvertedPendulum-v5", InvertedPendulum, InvertedPendulumConfig)
registry.register(
    "gym/InvertedDoublePendulum-v5",
    InvertedDoublePendulum,
    InvertedDoublePendulumConfig,
)
registry.register("gym/Reacher-v5", Reacher, ReacherV5Config)
registry.register("gym/Swimmer-v5", Swimmer, SwimmerConfig)
