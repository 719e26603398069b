"""ilax: imitation learning as pure JAX functions over vectorized MJX tasks.

`ilax.rollout(env, policy, key, num_envs, num_steps)` is the batched rollout;
the submodule of the same name also holds `start` and `unroll`.
"""

from ilax import data, envs, metrics, policies, types
from ilax.rollout import rollout
from ilax.types import EpisodeLog, Observation, Policy, Trajectory

__version__ = "0.1.0"

__all__ = [
    "EpisodeLog",
    "Observation",
    "Policy",
    "Trajectory",
    "data",
    "envs",
    "metrics",
    "policies",
    "rollout",
    "types",
]
