"""Two ways: a point mass passes a central obstacle on the left or the right.

A test bed for multimodal imitation: the expert picks a side at random each
episode, so its demonstrations hold two equally good behaviours, and a learner
that averages them drives into the obstacle.

The mass moves in the horizontal plane on two damped slide joints; the damping
makes the action (in [-1, 1]^2) a velocity command. It starts near
(0, -goal_distance), below a disc of radius `obstacle_radius` centred at the
origin, and must reach the goal disc around (0, +goal_distance). The episode
ends on reaching the goal (success), on entering the obstacle's disc
(collision; the obstacle is not simulated, only checked) or on leaving the
arena (out of bounds).

`side` records how the mass passed: -1 left, +1 right, the sign of x at the
first step that ends on or above the obstacle's centre line (y >= 0); 0 until
then. It lives in `info` and is reported as a metric.

Reward per step: the decrease of the straight-line distance to the goal (m),
plus `goal_bonus` on reaching the goal, minus `failure_penalty` on a collision
or leaving the arena, minus `control_cost` times the squared action.

Observation and privileged state are both (qpos, qvel) = (x, y, vx, vy): the
obstacle and the goal never move.
"""

import dataclasses

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from ilax import config as config_lib
from ilax.envs import base, registry


@dataclasses.dataclass(kw_only=True)
class TwoWaysConfig(base.MjxConfig):
    """Two-ways task settings; lengths in metres."""

    timestep: float = 0.01
    n_substeps: int = 5
    episode_length: int = 120
    iterations: int = 1
    ls_iterations: int = 1
    obstacle_radius: float = 0.3
    """Radius of the obstacle's disc, centred at the origin."""
    goal_distance: float = 0.8
    """Height of the goal's centre above the obstacle's centre, and depth of
    the start region's centre below it."""
    goal_radius: float = 0.1
    """Radius of the goal disc."""
    start_spread: float = 0.05
    """Half-width of the uniform start offsets in x and in y; symmetric in x,
    so neither side is favoured."""
    arena_half_width: float = 1.0
    """The episode fails when |x| exceeds this."""
    arena_half_height: float = 1.2
    """The episode fails when |y| exceeds this."""
    goal_bonus: float = 1.0
    """Reward for reaching the goal."""
    failure_penalty: float = 1.0
    """Penalty for a collision or for leaving the arena."""
    control_cost: float = 0.01
    """Weight of the squared action (summed over both axes)."""


class TwoWays(base.MjxEnv):
    """Reach the goal past a central obstacle, on either side."""

    name = "two_ways"

    def __init__(self, config: TwoWaysConfig):
        _validate(config)
        mj_model = base.load_model("two_ways.xml")
        # The drawn obstacle and goal follow the config.
        obstacle = mujoco.mj_name2id(mj_model, mujoco.mjtObj.mjOBJ_GEOM, "obstacle")
        goal = mujoco.mj_name2id(mj_model, mujoco.mjtObj.mjOBJ_GEOM, "goal")
        mj_model.geom_size[obstacle, 0] = config.obstacle_radius
        mj_model.geom_size[goal, 0] = config.goal_radius
        mj_model.geom_pos[goal, 1] = config.goal_distance
        super().__init__(config, mj_model)
        self.goal = np.array([0.0, config.goal_distance], np.float32)
        self.start = np.array([0.0, -config.goal_distance], np.float32)
        self._arena = np.array(
            [config.arena_half_width, config.arena_half_height], np.float32
        )

    def reset(self, key: jax.Array) -> base.State:
        spread = self.config.start_spread
        offset = jax.random.uniform(key, (2,), minval=-spread, maxval=spread)
        qpos = self.start + offset
        return self.state_from_privileged(jnp.concatenate([qpos, jnp.zeros(2)]))

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh state at privileged state (x, y, vx, vy); for planners.

        A state on or above the obstacle's centre line has already decided its
        side.
        """
        position = privileged[:2]
        data = self.make_data(position, privileged[2:])
        side = jnp.where(position[1] >= 0.0, jnp.sign(position[0]), 0.0)
        zero = jnp.zeros((), jnp.float32)
        return base.State.create(
            data=data,
            obs=privileged,
            privileged=privileged,
            reward=0.0,
            terminated=False,
            metrics={
                "success": zero,
                "collision": zero,
                "out_of_bounds": zero,
                "side": side,
            },
            info={"side": side},
        )

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        config = self.config
        action = jnp.clip(action, -1.0, 1.0)
        data = self.physics_step(state.data, action)
        position = data.qpos
        previous_gap = jnp.linalg.norm(state.data.qpos - self.goal)
        gap = jnp.linalg.norm(position - self.goal)
        reached = gap < config.goal_radius
        collided = jnp.linalg.norm(position) < config.obstacle_radius
        out_of_bounds = jnp.any(jnp.abs(position) > self._arena)
        failed = collided | out_of_bounds
        side = state.info["side"]
        side = jnp.where(
            (side == 0.0) & (position[1] >= 0.0), jnp.sign(position[0]), side
        )
        reward = (
            previous_gap
            - gap
            + config.goal_bonus * reached
            - config.failure_penalty * failed
            - config.control_cost * jnp.sum(action**2)
        )
        privileged = jnp.concatenate([data.qpos, data.qvel])
        return base.State.create(
            data=data,
            obs=privileged,
            privileged=privileged,
            reward=reward,
            terminated=reached | failed,
            metrics={
                "success": reached.astype(jnp.float32),
                "collision": collided.astype(jnp.float32),
                "out_of_bounds": out_of_bounds.astype(jnp.float32),
                "side": side,
            },
            info={**state.info, "side": side},
        )


def _validate(config: TwoWaysConfig) -> None:
    """Raises ValueError naming the first invalid task field of `config`."""
    owner = type(config).__name__
    for field in (
        "obstacle_radius",
        "goal_distance",
        "goal_radius",
        "arena_half_width",
        "arena_half_height",
    ):
        config_lib.check_positive(owner, field, getattr(config, field))
    config_lib.check_fields(
        config,
        non_negative=("start_spread", "goal_bonus", "failure_penalty", "control_cost"),
    )
    clear = config.goal_distance - config.obstacle_radius
    if not config.goal_radius < clear:
        raise ValueError(
            f"{owner}.goal_radius must be < goal_distance - obstacle_radius "
            f"({clear!r}) so the goal is clear of the obstacle; got "
            f"{config.goal_radius!r}"
        )
    if not config.start_spread < clear:
        raise ValueError(
            f"{owner}.start_spread must be < goal_distance - obstacle_radius "
            f"({clear!r}) so starts are clear of the obstacle; got "
            f"{config.start_spread!r}"
        )
    if not config.arena_half_width > config.obstacle_radius:
        raise ValueError(
            f"{owner}.arena_half_width must be > obstacle_radius "
            f"({config.obstacle_radius!r}) to leave a way round; got "
            f"{config.arena_half_width!r}"
        )
    reach = config.goal_distance + max(config.goal_radius, config.start_spread)
    if not config.arena_half_height > reach:
        raise ValueError(
            f"{owner}.arena_half_height must be > {reach!r} to hold the start "
            f"region and the goal; got {config.arena_half_height!r}"
        )


registry.register("two_ways", TwoWays, TwoWaysConfig)


def dithering(trajectory, log, band: float = 0.4) -> jax.Array:
    """Per environment `[B]`: the side changed while passing the obstacle.

    True where the sign of x changed between two steps that both lie within
    `band` of the obstacle's centre line (|y| < band), before the first
    episode ended: a policy that hesitates between the two ways. Reads the
    time-major rollout of `ilax.rollout` (`[T, B]`).
    """
    ended_before = jnp.cumsum(log.done, axis=0) - log.done > 0
    x, y = trajectory.obs[..., 0], trajectory.obs[..., 1]
    near = (jnp.abs(y) < band) & ~ended_before
    side = jnp.where(x < 0, -1, 1)
    changed = (side[1:] != side[:-1]) & near[1:] & near[:-1]
    return jnp.any(changed, axis=0)
