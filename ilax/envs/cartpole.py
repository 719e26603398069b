"""Cart-pole: a force-driven cart on a rail must swing up and balance a pole.

The model (assets/cartpole.xml) is a 1 kg cart on a frictionless rail with a
hinged 1 m, 0.2 kg pole, pushed by up to 10 N. The pole angle is 0 upright and
positive when the pole leans towards +x. By default the pole starts hanging
down ("swingup"); `start="balance"` starts it near upright.

Observations are (x, cos angle, sin angle, x velocity, angular velocity); the
privileged state is (qpos, qvel) = (x, angle, x velocity, angular velocity).

Reward per step, each factor in [0, 1] on the rail:

    upright * centred - control_cost * action**2
    upright = (1 + cos angle) / 2
    centred = 1 - 0.5 * (x / rail_limit)**2

so the reward is smooth, 1 with the pole upright over the rail's centre, and
an episode that ends early (the cart leaves the rail: |x| > rail_limit) loses
the rewards it would have collected. Success is the pole within
`upright_angle` of upright with the cart on the rail at the episode's last
step.
"""

import dataclasses

import jax
import jax.numpy as jnp

from ilax import config as config_lib
from ilax.envs import base, registry

_STARTS = ("swingup", "balance")


@dataclasses.dataclass(kw_only=True)
class CartpoleConfig(base.MjxConfig):
    """Cart-pole settings."""

    timestep: float = 0.01
    n_substeps: int = 4
    episode_length: int = 200
    iterations: int = 1
    ls_iterations: int = 1
    start: str = "swingup"
    """Initial pole: "swingup" (hanging down) or "balance" (near upright)."""
    start_noise: float = 0.1
    """Half-width of the uniform noise on every qpos and qvel entry at reset."""
    rail_limit: float = 2.0
    """The episode terminates when |cart position| (m) exceeds this."""
    upright_angle: float = 0.2
    """Angle from upright (rad) within which the pole counts as upright."""
    control_cost: float = 0.01
    """Weight of the squared action (in [-1, 1]) subtracted from the reward."""


class Cartpole(base.MjxEnv):
    """Cart-pole swing-up or balance; success is balanced on the rail at the end."""

    name = "cartpole"

    def __init__(self, config: CartpoleConfig):
        owner = type(config).__name__
        config_lib.check_choice(owner, "start", config.start, _STARTS)
        config_lib.check_positive(owner, "rail_limit", config.rail_limit)
        config_lib.check_positive(owner, "upright_angle", config.upright_angle)
        if not 0 <= config.start_noise < config.rail_limit:
            raise ValueError(
                f"{owner}.start_noise must be >= 0 and < rail_limit "
                f"({config.rail_limit}); got {config.start_noise!r}"
            )
        config_lib.check_non_negative(owner, "control_cost", config.control_cost)
        super().__init__(config, base.load_model("cartpole.xml"))

    def reset(self, key: jax.Array) -> base.State:
        return self.state_from_privileged(self.initial_privileged(key))

    def initial_privileged(self, key: jax.Array) -> jax.Array:
        """The privileged state (qpos, qvel) an episode starts from."""
        noise = self.config.start_noise
        privileged = jax.random.uniform(key, (4,), minval=-noise, maxval=noise)
        if self.config.start == "swingup":
            privileged = privileged.at[1].add(jnp.pi)
        return privileged

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh state at privileged state (qpos, qvel); used by planners."""
        data = self.make_data(privileged[:2], privileged[2:])
        success = self._success(data)
        return base.State.create(
            data=data,
            obs=self._observe(data),
            privileged=privileged,
            reward=0.0,
            terminated=self._off_rail(data),
            metrics={"upright": self._upright(data), "success": success},
            info={},
        )

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        action = jnp.clip(action, -1.0, 1.0)
        data = self.physics_step(state.data, action)
        upright = (1.0 + jnp.cos(data.qpos[1])) / 2.0
        centred = 1.0 - 0.5 * (data.qpos[0] / self.config.rail_limit) ** 2
        reward = upright * centred - self.config.control_cost * action[0] ** 2
        return base.State.create(
            data=data,
            obs=self._observe(data),
            privileged=jnp.concatenate([data.qpos, data.qvel]),
            reward=reward,
            terminated=self._off_rail(data),
            metrics={"upright": self._upright(data), "success": self._success(data)},
            info=state.info,
        )

    def _observe(self, data) -> jax.Array:
        angle = data.qpos[1]
        return jnp.stack(
            [data.qpos[0], jnp.cos(angle), jnp.sin(angle), data.qvel[0], data.qvel[1]]
        )

    def _off_rail(self, data) -> jax.Array:
        return jnp.abs(data.qpos[0]) > self.config.rail_limit

    def _upright(self, data) -> jax.Array:
        angle = base.wrap_angle(data.qpos[1])
        return (jnp.abs(angle) < self.config.upright_angle).astype(jnp.float32)

    def _success(self, data) -> jax.Array:
        return self._upright(data) * (~self._off_rail(data)).astype(jnp.float32)


registry.register("cartpole", Cartpole, CartpoleConfig)
