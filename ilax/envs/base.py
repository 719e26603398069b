"""The environment interface: `Env`, its `State`, and the MJX task base class.

An `Env` is unbatched and pure: `reset(key)` and `step(state, action)` return a
new `State`. Batching, time limits and auto-reset come from `ilax.envs.wrappers`.
"""

import abc
import dataclasses
import importlib.resources
from typing import Any

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct
from mujoco import mjx

from ilax import config as config_lib
from ilax.envs import mujoco_c

AUTO_IMPL = "auto"
_IMPLS = (AUTO_IMPL, "jax", "warp", mujoco_c.IMPL)


@struct.dataclass
class State:
    """One environment's state; every array field is unbatched.

    `metrics` describe the transition that produced this state (for a state
    that was auto-reset, the transition that ended the episode); environments
    never read them back. Anything carried from step to step lives in `info`.
    """

    obs: jax.Array  # [observation_size] what a student sees
    privileged: jax.Array  # [privileged_size] ground truth for teachers
    reward: jax.Array  # [] float32
    done: jax.Array  # [] bool, terminated | truncated
    metrics: dict  # str -> [] arrays
    info: dict  # always holds `terminated` and `truncated` ([] bool)
    data: Any  # simulator state (mjx.Data); learners never read it

    @classmethod
    def create(cls, *, data, obs, privileged, reward, terminated, metrics, info):
        """Builds a state with `done`, `terminated` and `truncated` filled in.

        Environments report `terminated`; wrappers add truncation. A `nan`
        metric (1 where a non-finite action or state ended the episode) is
        added so every state carries the same metric keys.
        """
        terminated = jnp.asarray(terminated, bool)
        info = {**info, "terminated": terminated, "truncated": jnp.zeros((), bool)}
        metrics = {**metrics, "nan": jnp.zeros((), jnp.float32)}
        return strip_weak_type(
            cls(
                obs=obs,
                privileged=privileged,
                reward=jnp.asarray(reward, jnp.float32),
                done=terminated,
                metrics=metrics,
                info=info,
                data=data,
            )
        )


def strip_weak_type(tree):
    """Gives every leaf a concrete dtype, so reset and step agree under `jit`.

    A weakly typed leaf in a reset state and a strongly typed one after a step
    make a scanned rollout compile twice; casting once here prevents it.
    """

    def strip(leaf):
        if isinstance(leaf, jax.Array) and not jnp.issubdtype(
            leaf.dtype, jax.dtypes.prng_key
        ):
            return leaf.astype(leaf.dtype)
        return leaf

    return jax.tree.map(strip, tree)


def all_finite(*arrays) -> jax.Array:
    """True where every element of every array is finite."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(a)) for a in arrays]))


def mjx_scope():
    """Context for tracing MJX calls: MJX relies on implicit rank promotion.

    ilax's tests make rank promotion an error to catch broadcasting bugs in
    ilax's own code; MuJoCo's MJX is not written for that, so every call into
    `mujoco.mjx` goes inside `with mjx_scope():`.
    """
    return jax.numpy_rank_promotion("allow")


def wrap_angle(angle: jax.Array) -> jax.Array:
    """Maps an angle to [-pi, pi)."""
    return (angle + jnp.pi) % (2 * jnp.pi) - jnp.pi


def load_model(asset: str) -> mujoco.MjModel:
    """Loads an MJCF file shipped in `ilax/envs/assets`."""
    path = importlib.resources.files("ilax.envs") / "assets" / asset
    return mujoco.MjModel.from_xml_path(str(path))


class Env(abc.ABC):
    """An unbatched, pure environment (the Brax/Playground convention)."""

    name: str = "env"

    @abc.abstractmethod
    def reset(self, key: jax.Array) -> State:
        """Starts an episode from a typed key."""

    @abc.abstractmethod
    def step(self, state: State, action: jax.Array) -> State:
        """Advances one control step."""

    @property
    @abc.abstractmethod
    def observation_size(self) -> int:
        """Length of `State.obs`."""

    @property
    @abc.abstractmethod
    def privileged_size(self) -> int:
        """Length of `State.privileged`."""

    @property
    @abc.abstractmethod
    def action_size(self) -> int:
        """Length of an action."""

    @property
    @abc.abstractmethod
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """(low, high) of valid actions, each `[action_size]`."""

    @property
    def unwrapped(self) -> "Env":
        """The innermost environment under any wrappers."""
        return self


def check_action(action: Any, action_size: int, owner: str) -> jax.Array:
    """Validates one unbatched action at trace time and casts it to float.

    Raises:
      ValueError: the shape is not `(action_size,)`.
      TypeError: the dtype is not a floating type.
    """
    action = jnp.asarray(action)
    if action.shape != (action_size,):
        raise ValueError(
            f"{owner}.step: action must have shape ({action_size},); got {action.shape}"
        )
    if not jnp.issubdtype(action.dtype, jnp.floating):
        raise TypeError(
            f"{owner}.step: action must have a floating dtype (float32); "
            f"got {action.dtype}"
        )
    return action.astype(jnp.result_type(float))


@dataclasses.dataclass(kw_only=True)
class MjxConfig:
    """Simulation settings shared by every MJX task."""

    impl: str = AUTO_IMPL
    """Physics backend: MJX's "jax" (any device, differentiable) or "warp"
    (NVIDIA), or "c", MuJoCo's C engine on the host (CPU programs only, for
    the tasks whose step reads nothing but the state; `ilax.envs.mujoco_c`).
    "auto": "c" where the task supports it and JAX's default backend is the
    CPU (it compiles in seconds and steps faster there), else "jax"."""
    timestep: float = 0.01
    """Physics timestep in seconds."""
    n_substeps: int = 1
    """Physics steps per control step; the control period is their product."""
    iterations: int = 4
    """Constraint solver iterations (MuJoCo's option/iterations)."""
    ls_iterations: int = 8
    """Line-search iterations of the constraint solver."""
    episode_length: int = 1000
    """Control steps after which an episode is truncated."""


def resolve_impl(impl: str, supports_c_engine: bool) -> str:
    """The backend that `impl` names; "auto" picks by task and device."""
    if impl != AUTO_IMPL:
        return impl
    if supports_c_engine and jax.default_backend() == "cpu":
        return mujoco_c.IMPL
    return "jax"


def validate_mjx_config(config: MjxConfig) -> None:
    """Raises ValueError naming the first invalid field of `config`."""
    owner = type(config).__name__
    config_lib.check_choice(owner, "impl", config.impl, _IMPLS)
    for field in ("timestep", "n_substeps", "iterations", "ls_iterations"):
        config_lib.check_positive(owner, field, getattr(config, field))
    config_lib.check_positive(owner, "episode_length", config.episode_length)


class MjxEnv(Env):
    """Base of tasks simulated by MJX.

    Subclasses build the MuJoCo model, then implement `reset` and `_step`;
    this class applies the solver settings of the config, checks actions, and
    ends an episode whose action, observation or reward is not finite, so one
    diverging environment cannot poison a batch.

    `config.impl` is stored resolved (never "auto"). With `impl="c"` the
    physics runs in MuJoCo's C engine instead
    (`ilax.envs.mujoco_c`): `mjx_model` is None, `c_engine` steps the state,
    and `State.data` is a `mujoco_c.CData`. Tasks whose step reads only
    time, qpos and qvel set `supports_c_engine`.
    """

    supports_c_engine: bool = False
    """Whether the task's step and reset read nothing beyond (time, qpos, qvel)."""

    def __init__(self, config: MjxConfig, mj_model: mujoco.MjModel):
        validate_mjx_config(config)
        impl = resolve_impl(config.impl, self.supports_c_engine)
        # The config records the backend in use ("auto" resolved).
        config = dataclasses.replace(config, impl=impl)
        self.config = config
        mj_model.opt.timestep = config.timestep
        mj_model.opt.iterations = config.iterations
        mj_model.opt.ls_iterations = config.ls_iterations
        self.mj_model = mj_model
        self.mjx_model = None
        self.c_engine = None
        if config.impl != mujoco_c.IMPL:
            self.mjx_model = mjx.put_model(mj_model, impl=config.impl)
            return
        owner = type(config).__name__
        if not self.supports_c_engine:
            raise ValueError(
                f"{owner}.impl: 'c' is not available for {self.name} (its step "
                f"reads simulator quantities beyond time, qpos and qvel, which "
                f"MuJoCo's C rollout does not return); expected 'jax' or 'warp', "
                f"got 'c'"
            )
        self.c_engine = mujoco_c.CEngine(mj_model, config.n_substeps, owner)

    @property
    def dt(self) -> float:
        """Control period in seconds."""
        return self.config.timestep * self.config.n_substeps

    @property
    def action_size(self) -> int:
        return self.mj_model.nu

    @property
    def action_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        ctrlrange = self.mj_model.actuator_ctrlrange.astype(np.float32)
        return ctrlrange[:, 0], ctrlrange[:, 1]

    @property
    def observation_size(self) -> int:
        return int(self._reset_shapes().obs.shape[-1])

    @property
    def privileged_size(self) -> int:
        return int(self._reset_shapes().privileged.shape[-1])

    def _reset_shapes(self) -> State:
        return jax.eval_shape(self.reset, jax.random.key(0))

    def make_data(self, qpos: jax.Array, qvel: jax.Array) -> mjx.Data:
        """Simulator data at (qpos, qvel) with positions propagated."""
        if self.c_engine is not None:
            return self.c_engine.make_data(qpos, qvel)
        with mjx_scope():
            data = mjx.make_data(self.mjx_model)
            data = data.replace(qpos=qpos, qvel=qvel)
            return mjx.forward(self.mjx_model, data)

    def physics_step(self, data: mjx.Data, ctrl: jax.Array) -> mjx.Data:
        """Applies `ctrl` and advances `n_substeps` physics steps."""
        if self.c_engine is not None:
            return self.c_engine.step(data, ctrl)
        data = data.replace(ctrl=ctrl.astype(data.ctrl.dtype))

        def substep(data, _):
            return mjx.step(self.mjx_model, data), None

        with mjx_scope():
            data, _ = jax.lax.scan(substep, data, None, length=self.config.n_substeps)
        return data

    def step(self, state: State, action: jax.Array) -> State:
        action = check_action(action, self.action_size, type(self).__name__)
        action_ok = jnp.all(jnp.isfinite(action))
        next_state = self._step(state, jnp.where(action_ok, action, 0.0))
        return guard_non_finite(state, strip_weak_type(next_state), action_ok)

    @abc.abstractmethod
    def _step(self, state: State, action: jax.Array) -> State:
        """Task step on a finite action; returns a state from `State.create`."""


def guard_non_finite(prev: State, state: State, action_ok: jax.Array) -> State:
    """Ends the episode, truncated, where the step went non-finite.

    The returned observation, privileged state and reward stay finite (the
    previous ones, and zero); `metrics["nan"]` marks the step so the episode
    is counted. The simulator data is left as it is: the episode is over and
    an auto-reset replaces it.
    """
    ok = action_ok & all_finite(state.obs, state.privileged, state.reward)
    # A step that went non-finite is cut short, not a task outcome, so it
    # counts as truncated only: the two flags stay disjoint.
    terminated = state.info["terminated"] & ok
    truncated = state.info["truncated"] | ~ok
    return state.replace(
        obs=jnp.where(ok, state.obs, prev.obs),
        privileged=jnp.where(ok, state.privileged, prev.privileged),
        reward=jnp.where(ok, state.reward, 0.0),
        done=terminated | truncated,
        metrics={**state.metrics, "nan": (~ok).astype(jnp.float32)},
        info={**state.info, "terminated": terminated, "truncated": truncated},
    )
