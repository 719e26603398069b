"""Configs of the Gymnasium v5 classic MuJoCo tasks (see `ilax.envs.gym_mujoco`).

Field defaults are Gymnasium v5's own constructor defaults (frame skip,
reward weights, reset noise) and time limits, so a default task is the
literature's task. Constants that Gymnasium hard-codes (InvertedPendulum's
0.2 rad pole limit, InvertedDoublePendulum's penalty weights, Reacher's reset
ranges) are constants of the task classes, not fields.
"""

import dataclasses

from ilax.envs import base
from ilax.envs.locomotion_config import LocomotionConfig


@dataclasses.dataclass(kw_only=True)
class GymMujocoConfig(base.MjxConfig):
    """Settings shared by the classic tasks (Gymnasium v5 constructor arguments).

    `n_substeps` is Gymnasium's `frame_skip`; `timestep` defaults to the model
    file's. The models have no contacts, only joint limits, and the solver
    limits are upper bounds (MJX's Newton solver stops at its tolerance):
    over the tests' rollouts (3 x 200 steps of random actions per task,
    joint limits hit), 8 and 4 give trajectories bit-identical to those of
    the model files' 100 and 50.
    """

    iterations: int = 8
    ls_iterations: int = 4


@dataclasses.dataclass(kw_only=True)
class InvertedPendulumConfig(GymMujocoConfig):
    """InvertedPendulum-v5 settings."""

    timestep: float = 0.02
    n_substeps: int = 2
    reset_noise_scale: float = 0.01
    """Half-width of the uniform noise on every initial qpos and qvel entry."""


@dataclasses.dataclass(kw_only=True)
class InvertedDoublePendulumConfig(GymMujocoConfig):
    """InvertedDoublePendulum-v5 settings."""

    timestep: float = 0.01
    n_substeps: int = 5
    healthy_reward: float = 10.0
    """Reward for every step that ends with the tip above 1 m."""
    reset_noise_scale: float = 0.1
    """Half-width of the uniform qpos noise and std of the normal qvel noise."""


@dataclasses.dataclass(kw_only=True)
class ReacherV5Config(GymMujocoConfig):
    """Reacher-v5 settings."""

    timestep: float = 0.01
    n_substeps: int = 2
    episode_length: int = 50
    reward_dist_weight: float = 1.0
    """Weight of the fingertip-to-target distance (m) in the cost."""
    reward_control_weight: float = 1.0
    """Weight of the squared norm of the raw (unclipped) action in the cost."""


@dataclasses.dataclass(kw_only=True)
class SwimmerConfig(LocomotionConfig):
    """Swimmer-v5 settings: a locomotion task without a health rule."""

    timestep: float = 0.01
    n_substeps: int = 4
    ctrl_cost_weight: float = 1e-4
    reset_noise_scale: float = 0.1
