"""Gymnasium v5 locomotion tasks on MJX: hopper, halfcheetah, walker2d and ant.

Each task follows its Gymnasium v5 definition exactly (model file, frame skip,
observation, reward terms and weights, health rule, reset noise), so returns
are comparable with the literature; `tests/envs/test_locomotion.py` checks
them step for step against Gymnasium's own environments. The model files are
read from the installed gymnasium package, never copied.

One class, `LocomotionEnv`, holds the shared step; the four tasks differ only
in small hooks: how the forward position is measured, the health rule, the
velocity clipping of the observation, the velocity reset noise, and Ant's
contact forces. Privileged state is the full (qpos, qvel), root x/y included.
The task configs live in `ilax.envs.locomotion_config`.
"""

import importlib.resources

import jax
import jax.numpy as jnp
import mujoco
from mujoco import mjx

from ilax import config as config_lib
from ilax.envs import base, registry
from ilax.envs.locomotion_config import (
    AntConfig,
    HalfCheetahConfig,
    HealthyLocomotionConfig,
    HopperConfig,
    LocomotionConfig,
    Walker2dConfig,
    check_range,
)


def load_gymnasium_model(filename: str) -> mujoco.MjModel:
    """Loads a model file shipped with gymnasium (`gymnasium/envs/mujoco/assets`)."""
    path = importlib.resources.files("gymnasium") / "envs" / "mujoco" / "assets"
    return mujoco.MjModel.from_xml_path(str(path / filename))


def _as_metrics(terms: dict, **more: jax.Array) -> dict[str, jax.Array]:
    """Reward terms and kinematics as float32 metrics (also under jax_enable_x64)."""
    return {name: jnp.asarray(v, jnp.float32) for name, v in {**terms, **more}.items()}


def _within(value: jax.Array, bounds: tuple[float, float]) -> jax.Array:
    """Gymnasium's strict `low < value < high`, for every element."""
    return jnp.all((bounds[0] < value) & (value < bounds[1]))


class LocomotionEnv(base.MjxEnv):
    """The shared step of the Gymnasium v5 locomotion tasks.

    Subclasses set the model file and the class attributes below, and
    override the hooks `_forward_position`, `_is_healthy`, `_after_physics`
    and `_extra_observation` / `_extra_reward_terms` where their task needs.
    """

    model_file: str
    skipped_positions: int = 1
    """Leading qpos entries (root x, y) left out of the observation."""
    velocity_clip: float | None = None
    """Bound of the qvel entries of the observation, if the task clips them."""
    normal_velocity_noise: bool = False
    """Draw the initial qvel noise from a normal rather than a uniform law."""

    def __init__(self, config: LocomotionConfig):
        self._validate(config)
        super().__init__(config, load_gymnasium_model(self.model_file))
        self._init_qpos = jnp.asarray(self.mj_model.qpos0, jnp.float32)
        self._init_qvel = jnp.zeros(self.mj_model.nv, jnp.float32)

    def _validate(self, config: LocomotionConfig) -> None:
        config_lib.check_fields(config, non_negative=("reset_noise_scale",))

    def reset(self, key: jax.Array) -> base.State:
        key_qpos, key_qvel = jax.random.split(key)
        scale = self.config.reset_noise_scale
        nq, nv = self.mj_model.nq, self.mj_model.nv
        qpos = self._init_qpos + jax.random.uniform(
            key_qpos, (nq,), minval=-scale, maxval=scale
        )
        if self.normal_velocity_noise:
            qvel_noise = scale * jax.random.normal(key_qvel, (nv,))
        else:
            qvel_noise = jax.random.uniform(
                key_qvel, (nv,), minval=-scale, maxval=scale
            )
        return self.state_from_privileged(
            jnp.concatenate([qpos, self._init_qvel + qvel_noise])
        )

    def make_data(self, qpos: jax.Array, qvel: jax.Array) -> mjx.Data:
        """Simulator data at (qpos, qvel) with body positions propagated.

        Only kinematics, not a full `mjx.forward`: a step recomputes forward
        dynamics from (qpos, qvel, qacc_warmstart) before integrating, and the
        tasks read nothing else from a fresh state (Ant's torso position comes
        from kinematics). This keeps reset, AutoReset and planners' restarts
        cheap, and halves the compile time of a reset.
        """
        if self.c_engine is not None:
            return self.c_engine.make_data(qpos, qvel)
        data = mjx.make_data(self.mjx_model).replace(qpos=qpos, qvel=qvel)
        return mjx.kinematics(self.mjx_model, data)

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh state at privileged state (qpos, qvel); used by planners.

        As in Gymnasium after a reset, the contact forces are zero until the
        first step computes them.
        """
        nq = self.mj_model.nq
        qpos, qvel = privileged[:nq], privileged[nq:]
        data = self.make_data(qpos, qvel)
        zero = jnp.zeros((), jnp.float32)
        terms = self._reward_terms(
            data, jnp.zeros(self.action_size), zero, self._is_healthy(data)
        )
        metrics = _as_metrics(
            {name: zero for name in terms}, x_velocity=zero, x_position=data.qpos[0]
        )
        return base.State.create(
            data=data,
            # MJX normalizes a free joint's quaternion in data.qpos; MuJoCo
            # and Gymnasium observe the qpos as it was set.
            obs=self._observe(qpos, qvel, data),
            privileged=privileged,
            reward=0.0,
            terminated=False,
            metrics=metrics,
            info={},
        )

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        x_before = self._forward_position(state.data)
        # MuJoCo clamps ctrl to its range; the cost is on the raw action.
        data = self._after_physics(self.physics_step(state.data, action))
        x_velocity = (self._forward_position(data) - x_before) / self.dt
        healthy = self._is_healthy(data)
        terms = self._reward_terms(data, action, x_velocity, healthy)
        terminated = False
        if healthy is not None and self.config.terminate_when_unhealthy:
            terminated = ~healthy
        metrics = _as_metrics(terms, x_velocity=x_velocity, x_position=data.qpos[0])
        return base.State.create(
            data=data,
            obs=self._observe(data.qpos, data.qvel, data),
            privileged=jnp.concatenate([data.qpos, data.qvel]),
            reward=sum(terms.values()),
            terminated=terminated,
            metrics=metrics,
            info=state.info,
        )

    def _reward_terms(
        self,
        data: mjx.Data,
        action: jax.Array,
        x_velocity: jax.Array,
        healthy: jax.Array | None,
    ) -> dict[str, jax.Array]:
        """Gymnasium's reward terms, named as in its `info`; they sum to the reward."""
        config = self.config
        terms = {
            "reward_forward": config.forward_reward_weight * x_velocity,
            "reward_ctrl": -config.ctrl_cost_weight * jnp.sum(jnp.square(action)),
        }
        if healthy is not None:
            terms["reward_survive"] = healthy * jnp.float32(config.healthy_reward)
        return {**terms, **self._extra_reward_terms(data)}

    def _observe(self, qpos: jax.Array, qvel: jax.Array, data: mjx.Data) -> jax.Array:
        skip = self.skipped_positions
        position = qpos[skip:] if self._excludes_positions else qpos
        velocity = qvel
        if self.velocity_clip is not None:
            velocity = jnp.clip(velocity, -self.velocity_clip, self.velocity_clip)
        return jnp.concatenate([position, velocity, self._extra_observation(data)])

    @property
    def _excludes_positions(self) -> bool:
        return self.config.exclude_current_positions_from_observation

    def _forward_position(self, data: mjx.Data) -> jax.Array:
        """The x coordinate whose change over a step is the forward velocity."""
        return data.qpos[0]

    def _is_healthy(self, data: mjx.Data) -> jax.Array | None:
        """Whether the robot is healthy; None for a task without a health rule."""
        return None

    def _after_physics(self, data: mjx.Data) -> mjx.Data:
        """Computes what the task reads beyond the physics step."""
        return data

    def _extra_observation(self, data: mjx.Data) -> jax.Array:
        return jnp.zeros((0,), jnp.float32)

    def _extra_reward_terms(self, data: mjx.Data) -> dict[str, jax.Array]:
        return {}


class _PlanarWalker(LocomotionEnv):
    """Hopper and Walker2d: healthy while torso height and pitch stay in range."""

    velocity_clip = 10.0

    def _validate(self, config: HealthyLocomotionConfig) -> None:
        super()._validate(config)
        for field in ("healthy_z_range", "healthy_angle_range"):
            check_range(config, field)

    def _is_healthy(self, data: mjx.Data) -> jax.Array:
        z, angle = data.qpos[1], data.qpos[2]
        return _within(z, self.config.healthy_z_range) & _within(
            angle, self.config.healthy_angle_range
        )


class Hopper(_PlanarWalker):
    """Hopper-v5: a one-legged planar robot hops forward."""

    name = "hopper"
    model_file = "hopper.xml"
    supports_c_engine = True  # its step reads qpos and qvel only

    def _validate(self, config: HopperConfig) -> None:
        super()._validate(config)
        check_range(config, "healthy_state_range")

    def _is_healthy(self, data: mjx.Data) -> jax.Array:
        # Gymnasium checks the unclipped state vector past root x and z.
        state = jnp.concatenate([data.qpos[2:], data.qvel])
        return super()._is_healthy(data) & _within(
            state, self.config.healthy_state_range
        )


class Walker2d(_PlanarWalker):
    """Walker2d-v5: a two-legged planar robot walks forward."""

    name = "walker2d"
    model_file = "walker2d_v5.xml"
    supports_c_engine = True  # its step reads qpos and qvel only


class HalfCheetah(LocomotionEnv):
    """HalfCheetah-v5: a planar cheetah runs forward; it never terminates."""

    name = "halfcheetah"
    model_file = "half_cheetah.xml"
    supports_c_engine = True  # its step reads qpos and qvel only
    normal_velocity_noise = True


class Ant(LocomotionEnv):
    """Ant-v5: a four-legged robot walks forward (+x) on a plane.

    Forward velocity comes from the torso body's position, which MuJoCo's
    step leaves at the last Runge-Kutta stage, not the integrated state;
    Gymnasium reads it the same way. The contact forces come from
    `mjx.rne_postconstraint`, as Gymnasium calls `mj_rnePostConstraint`.

    One known gap to MuJoCo remains, in MJX's collision code: for a capsule
    within 30 degrees of the floor's normal (a steep ankle), MJX gives the
    contact a fixed tangent frame where MuJoCo aligns it with the capsule.
    With the model's pyramidal friction cones the friction then differs, so
    trajectories part from Gymnasium's at such a contact (with elliptic cones
    both agree to float32 precision; see the tests).
    """

    name = "ant"
    model_file = "ant.xml"
    skipped_positions = 2
    normal_velocity_noise = True
    _torso = 1  # Gymnasium's default main_body

    def _validate(self, config: AntConfig) -> None:
        super()._validate(config)
        check_range(config, "healthy_z_range")
        check_range(config, "contact_force_range")
        if config.impl not in ("jax", "auto"):
            raise ValueError(
                "AntConfig.impl must be 'jax' or 'auto' (mjx.rne_postconstraint, "
                "which computes the contact forces, has no other backend); got "
                f"{config.impl!r}"
            )

    def _forward_position(self, data: mjx.Data) -> jax.Array:
        return data.xpos[self._torso, 0]

    def _is_healthy(self, data: mjx.Data) -> jax.Array:
        low, high = self.config.healthy_z_range
        z = data.qpos[2]
        finite = base.all_finite(data.qpos, data.qvel)
        return finite & (low <= z) & (z <= high)

    def _after_physics(self, data: mjx.Data) -> mjx.Data:
        return mjx.rne_postconstraint(self.mjx_model, data)

    def _contact_forces(self, data: mjx.Data) -> jax.Array:
        low, high = self.config.contact_force_range
        return jnp.clip(data._impl.cfrc_ext, low, high)

    def _extra_observation(self, data: mjx.Data) -> jax.Array:
        if not self.config.include_cfrc_ext_in_observation:
            return jnp.zeros((0,), jnp.float32)
        return self._contact_forces(data)[1:].ravel()

    def _extra_reward_terms(self, data: mjx.Data) -> dict[str, jax.Array]:
        cost = self.config.contact_cost_weight * jnp.sum(
            jnp.square(self._contact_forces(data))
        )
        return {"reward_contact": -cost}


registry.register("hopper", Hopper, HopperConfig)
registry.register("halfcheetah", HalfCheetah, HalfCheetahConfig)
registry.register("walker2d", Walker2d, Walker2dConfig)
registry.register("ant", Ant, AntConfig)
