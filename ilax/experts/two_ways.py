"""Via-point expert for "two_ways": around the obstacle on a random side.

Each episode the expert draws a side, left or right with equal odds, and keeps
it in its per-environment policy state (re-drawn when the rollout starts a new
episode). While the straight way to the goal passes near the obstacle, it
heads for a via point on its side: the point where a line from the mass
touches a safety disc around the obstacle (radius `obstacle_radius +
clearance`). Following those tangent points, the mass runs along that disc
until the goal comes into view, then heads straight for the goal. Inside the
safety disc it moves along the disc's edge and outwards.

It can be asked at any state: where the mass is clearly on one side (|x| at
least `commit_width`), or on or above the obstacle's centre line, it goes
round on the side it is on, and remembers that side for the rest of the
episode, so it never switches sides on its own trajectories. A commanded
velocity becomes an action through the task's damping, mass and gear.
"""

import dataclasses

import jax
import jax.numpy as jnp

from ilax import config as config_lib
from ilax import policies
from ilax.experts import registry
from ilax.types import Observation, Policy


@dataclasses.dataclass(kw_only=True)
class TwoWaysExpertConfig:
    """Settings of the two-ways via-point expert; lengths in metres."""

    speed: float = 0.45
    """Commanded speed (m/s); the motors hold at most 0.5 m/s per axis."""
    clearance: float = 0.12
    """Gap kept from the obstacle's edge: the safety disc's extra radius. The
    goal is headed for once the straight way keeps half this gap."""
    commit_width: float = 0.1
    """|x| from which the mass counts as on one side; above the task's start
    spread, so the expert's own random draw decides from the start region."""
    velocity_gain: float = 10.0
    """Rate (1/s) at which velocity errors are corrected."""
    escape_gain: float = 4.0
    """Extra outward turn (rad per metre inside the safety disc)."""


def make_two_ways_expert(env, **overrides) -> Policy:
    """The via-point expert of the two-ways task.

    Args:
      env: a two-ways environment, possibly wrapped.
      **overrides: fields of `TwoWaysExpertConfig`.

    Returns:
      A `Policy` whose state is the side (-1. left, +1. right) of each
      environment, drawn at random by `init`.
    """
    config = config_lib.replace(TwoWaysExpertConfig(), **overrides)
    config_lib.check_fields(
        config,
        positive=("speed", "clearance", "commit_width", "velocity_gain"),
        non_negative=("escape_gain",),
    )
    task = env.unwrapped
    model = task.mj_model
    goal = jnp.asarray(task.goal)
    safety_radius = task.config.obstacle_radius + config.clearance
    view_radius = task.config.obstacle_radius + 0.5 * config.clearance
    mass = float(model.body("mass").mass[0])
    damping = jnp.asarray(model.dof_damping, jnp.float32)
    gear = jnp.asarray(model.actuator_gear[:, 0], jnp.float32)
    low, high = (jnp.asarray(bound) for bound in task.action_bounds)

    def init(key: jax.Array) -> jax.Array:
        return jnp.where(jax.random.bernoulli(key), 1.0, -1.0).astype(jnp.float32)

    def heading(position: jax.Array, side: jax.Array) -> jax.Array:
        """Unit direction of travel at `position` for a pass on `side`."""
        to_goal = goal - position
        if_clear = to_goal / (jnp.linalg.norm(to_goal) + 1e-9)
        # The obstacle sits at the origin; closest point of the way to the goal.
        along = jnp.clip(
            -jnp.dot(position, to_goal) / (jnp.dot(to_goal, to_goal) + 1e-9), 0.0, 1.0
        )
        clear = jnp.linalg.norm(position + along * to_goal) >= view_radius
        distance = jnp.linalg.norm(position) + 1e-9
        to_centre = -position / distance
        # A line from the mass touching the safety disc leaves the centre
        # asin(R / d) to the side; inside the disc, turn past the tangent.
        turn = jnp.arcsin(jnp.minimum(safety_radius / distance, 1.0))
        turn = turn + config.escape_gain * jnp.maximum(safety_radius - distance, 0.0)
        # Right (+1) turns clockwise from the centre, left counter-clockwise.
        angle = -side * turn
        cos, sin = jnp.cos(angle), jnp.sin(angle)
        rotation = jnp.array([[cos, -sin], [sin, cos]])
        return jnp.where(clear, if_clear, rotation @ to_centre)

    def step(side: jax.Array, observation: Observation, key: jax.Array):
        del key
        privileged = observation.privileged
        position, velocity = privileged[:2], privileged[2:4]
        x, y = position[0], position[1]
        decided = (jnp.abs(x) >= config.commit_width) | ((y >= 0.0) & (x != 0.0))
        side = jnp.where(decided, jnp.sign(x), side)
        target_velocity = config.speed * heading(position, side)
        # Damping holds a velocity with force damping * v; the gain term
        # closes the remaining error.
        force = damping * target_velocity + mass * config.velocity_gain * (
            target_velocity - velocity
        )
        action = force / gear
        # Scaling, not clipping per axis, keeps a saturated push on course.
        action = action / jnp.maximum(1.0, jnp.max(jnp.abs(action) / high))
        return jnp.clip(action, low, high), side, {}

    return policies.per_env(step, init)


registry.register("two_ways", make_two_ways_expert)
