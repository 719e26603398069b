"""Configs of the Gymnasium v5 locomotion tasks (see `ilax.envs.locomotion`).

Field defaults are Gymnasium v5's own (reward weights, health ranges, reset
noise, frame skip), so a default task is the literature's task.
"""

import dataclasses

from ilax.envs import base


@dataclasses.dataclass(kw_only=True)
class LocomotionConfig(base.MjxConfig):
    """Settings shared by the locomotion tasks (Gymnasium v5 constructor arguments).

    `n_substeps` is Gymnasium's `frame_skip`; `timestep` defaults to the model
    file's. The solver limits are upper bounds (MJX's Newton solver stops at
    its tolerance). Measured on 32 environments x 40 steps of random actions
    per task: one step with 8 iterations and 4 line-search iterations is
    bit-identical to one with 100 and 50 (the model files' values), while 4
    Newton iterations leave errors up to 4e-2 (halfcheetah) and 1.3 (ant) in
    the next observation; MuJoCo itself needs up to 7 on walker2d and ant.
    """

    iterations: int = 8
    ls_iterations: int = 4
    forward_reward_weight: float = 1.0
    """Weight of the forward velocity (m/s) in the reward."""
    ctrl_cost_weight: float = 1e-3
    """Weight of the squared norm of the raw (unclipped) action in the cost."""
    reset_noise_scale: float = 5e-3
    """Scale of the random perturbation of the initial qpos and qvel."""
    exclude_current_positions_from_observation: bool = True
    """Leave the root's x position (and y for Ant) out of the observation."""


@dataclasses.dataclass(kw_only=True)
class HealthyLocomotionConfig(LocomotionConfig):
    """Settings of the locomotion tasks that can fall (all but halfcheetah)."""

    healthy_reward: float = 1.0
    """Reward for every step that ends in a healthy state."""
    terminate_when_unhealthy: bool = True
    """End the episode (terminated) when the robot becomes unhealthy."""
    healthy_z_range: tuple[float, float] = (0.7, float("inf"))
    """Range of the torso height (m) for the robot to count as healthy."""


@dataclasses.dataclass(kw_only=True)
class HopperConfig(HealthyLocomotionConfig):
    """Hopper-v5 settings."""

    timestep: float = 0.002
    n_substeps: int = 4
    healthy_z_range: tuple[float, float] = (0.7, float("inf"))
    healthy_angle_range: tuple[float, float] = (-0.2, 0.2)
    """Range of the torso pitch (rad) for the hopper to count as healthy."""
    healthy_state_range: tuple[float, float] = (-100.0, 100.0)
    """Range of every element of (qpos, qvel) but root x and z, when healthy."""


@dataclasses.dataclass(kw_only=True)
class Walker2dConfig(HealthyLocomotionConfig):
    """Walker2d-v5 settings."""

    timestep: float = 0.002
    n_substeps: int = 4
    healthy_z_range: tuple[float, float] = (0.8, 2.0)
    healthy_angle_range: tuple[float, float] = (-1.0, 1.0)
    """Range of the torso pitch (rad) for the walker to count as healthy."""


@dataclasses.dataclass(kw_only=True)
class HalfCheetahConfig(LocomotionConfig):
    """HalfCheetah-v5 settings (the cheetah never falls: no health rule)."""

    timestep: float = 0.01
    n_substeps: int = 5
    ctrl_cost_weight: float = 0.1
    reset_noise_scale: float = 0.1


@dataclasses.dataclass(kw_only=True)
class AntConfig(HealthyLocomotionConfig):
    """Ant-v5 settings."""

    timestep: float = 0.01
    n_substeps: int = 5
    ctrl_cost_weight: float = 0.5
    reset_noise_scale: float = 0.1
    healthy_z_range: tuple[float, float] = (0.2, 1.0)
    contact_cost_weight: float = 5e-4
    """Weight of the squared clipped external contact forces in the cost."""
    contact_force_range: tuple[float, float] = (-1.0, 1.0)
    """Range the external contact forces (cfrc_ext) are clipped to."""
    include_cfrc_ext_in_observation: bool = True
    """Append the clipped contact forces of bodies 1: to the observation."""


def check_range(config, field: str) -> None:
    """Raises ValueError naming `field` unless it is a (low, high) pair."""
    value = getattr(config, field)
    if len(value) != 2 or not value[0] <= value[1]:
        raise ValueError(
            f"{type(config).__name__}.{field} must be a (low, high) pair with "
            f"low <= high; got {value!r}"
        )
