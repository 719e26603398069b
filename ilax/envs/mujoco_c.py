"""MuJoCo's C engine as a CPU backend of the MJX tasks (`impl="c"`).

MJX compiles a task's physics into the XLA program: on a GPU that is what
makes thousands of environments fast; on the 2-core CPU a hopper rollout
compiles for 24-29 s and steps 5-9x slower than on MuJoCo's own C engine
(`results/cpu_backends/`). With `impl="c"` a task keeps its JAX step
(observation, reward, termination, wrappers, rollouts, learners: all
unchanged and jitted) and only the physics leaves the program:
`CEngine.step` is a `jax.pure_callback` that advances the whole batch of
environments with `mujoco.rollout` (MuJoCo's multi-threaded C++ rollout, one
thread per core) and returns the new state.

The state carried in `ilax.envs.base.State.data` is a `CData`: time, qpos and
qvel, float32 like every ilax array. MuJoCo integrates in float64 from the
float32 state, so each control step rounds the state to float32 once (MJX
computes in float32 throughout). The solver runs with the config's limits
(`iterations`, `ls_iterations`, as MJX does; Gymnasium's model files allow
100 and 50) and its warm start is not carried: every control step starts
MuJoCo's Newton solver cold. Measured against Gymnasium's float64 run one
step from the same state, hopper, halfcheetah and walker2d agree to float32
rounding (observation within 9.4e-7, reward within 4.8e-6;
`tests/envs/test_mujoco_c.py`).

Where MuJoCo meets a diverging state (a non-finite or huge qpos, qvel or
acceleration) it resets the simulation to the model's initial state and
goes on; the callback marks such an environment's new state NaN instead, so
the task's non-finite guard ends the episode and reports it
(`ilax.envs.base.guard_non_finite`), as under MJX.

A task supports the engine when everything its step reads is a function of
the state (time, qpos, qvel) alone: MuJoCo's rollout returns nothing else
(not the contact forces, the site positions or the constraint forces of the
last substep). Models with actuator activations, mocap bodies or plugins are
refused. The callback runs on the host, so the backend is for CPU programs:
tracing a step for another default backend raises an error naming `impl`.
JAX does not keep programs with host callbacks in its persistent
compilation cache, so a C-engine program compiles again in every process
(about 1-2 s for a rollout; a learner's own compile comes on top).
"""

import threading

import jax
import jax.numpy as jnp
import mujoco
import numpy as np
from flax import struct
from mujoco import rollout

from ilax import platform

IMPL = "c"
"""The `MjxConfig.impl` value that selects this backend."""


@struct.dataclass
class CData:
    """The simulator state of one environment under the C engine."""

    time: jax.Array  # [] float32, simulated seconds
    qpos: jax.Array  # [nq] float32
    qvel: jax.Array  # [nv] float32


def check_model(mj_model: mujoco.MjModel, owner: str) -> None:
    """Raises ValueError unless (time, qpos, qvel) is the model's whole state."""
    full = mujoco.mj_stateSize(mj_model, mujoco.mjtState.mjSTATE_FULLPHYSICS)
    expected = 1 + mj_model.nq + mj_model.nv
    # Mocap poses are not part of the physics state, so they are counted.
    full += mujoco.mj_stateSize(
        mj_model,
        mujoco.mjtState.mjSTATE_MOCAP_POS | mujoco.mjtState.mjSTATE_MOCAP_QUAT,
    )
    if full != expected:
        raise ValueError(
            f"{owner}.impl='c' needs a model whose physics state is time, qpos "
            f"and qvel only (no actuator activations, mocap bodies or plugins): "
            f"expected a state of {expected} numbers, the model has {full}"
        )


class CEngine:
    """Steps batches of one model's environments with MuJoCo's C rollout.

    Args:
      mj_model: the task's model, solver settings already applied; a copy is
        kept, so later changes to the caller's model do not reach it.
      n_substeps: physics steps per control step.
      owner: the config's name, for errors.
      num_threads: threads of MuJoCo's pool; None: the cores this process
        may use (XLA's own threads wait while the callback runs).
    """

    def __init__(
        self,
        mj_model: mujoco.MjModel,
        n_substeps: int,
        owner: str,
        num_threads: int | None = None,
    ):
        check_model(mj_model, owner)
        self.owner = owner
        self.mj_model = mj_model.__copy__()
        self.n_substeps = n_substeps
        self.timestep = float(mj_model.opt.timestep)
        self.state_size = 1 + mj_model.nq + mj_model.nv  # time, qpos, qvel
        self.num_threads = num_threads or platform.cpu_threads()
        self._lock = threading.Lock()
        # Built on first use (a pickled env carries no threads): a thread pool
        # and MjData per thread count, buffers per batch size.
        self._pools = None
        self._datas = None
        self._by_batch = {}

    def _buffers(self, batch: int) -> dict:
        """Arrays `mujoco.rollout` reads and writes for a batch, reused."""
        if batch not in self._by_batch:
            model, nstep, nstate = self.mj_model, self.n_substeps, self.state_size
            self._by_batch[batch] = {
                "models": [model] * batch,
                "state": np.empty((batch, nstate)),
                "warmstart": np.zeros((batch, model.nv)),
                "control": np.empty((batch, nstep, model.nu)),
                "out": np.empty((batch, nstep, nstate)),
                "sensordata": np.empty((batch, nstep, model.nsensordata)),
            }
        return self._by_batch[batch]

    def _host_step(self, packed):
        """The callback: (time, qpos, qvel, ctrl) in, (time, qpos, qvel) out.

        Each is packed along the last axis, under any leading batch shape.
        One array each way: every argument and result of a callback costs
        about 20 us of XLA's time, a third of a small batch's step.
        """
        nstate = self.state_size
        packed = np.asarray(packed)
        batch_shape = packed.shape[:-1]
        batch = int(np.prod(batch_shape, dtype=int))
        packed = np.reshape(packed, (batch, -1))
        # Threads only pay off for batches that fill them.
        threads = self.num_threads if batch >= 2 * self.num_threads else 1
        with self._lock:
            if self._pools is None:
                self._pools = {1: rollout.Rollout(nthread=0)}
                self._datas = [mujoco.MjData(self.mj_model)]
            if threads not in self._pools:
                self._pools[threads] = rollout.Rollout(nthread=threads)
                self._datas += [
                    mujoco.MjData(self.mj_model)
                    for _ in range(threads - len(self._datas))
                ]
            arrays = self._buffers(batch)
            arrays["state"][:] = packed[:, :nstate]
            arrays["control"][:] = packed[:, None, nstate:]
            self._pools[threads].rollout(
                arrays["models"],
                self._datas[: max(threads, 1)],
                arrays["state"],
                arrays["control"],
                nstep=self.n_substeps,
                initial_warmstart=arrays["warmstart"],
                state=arrays["out"],
                sensordata=arrays["sensordata"],
                chunk_size=max(1, batch // (threads * 10)),
                skip_checks=True,
            )
            last = arrays["out"][:, -1].astype(np.float32)
        # MuJoCo resets a diverging simulation and runs on (its time restarts
        # from zero): such an environment's state becomes NaN instead.
        advanced = packed[:, 0] + self.n_substeps * self.timestep
        reset = np.abs(arrays["out"][:, -1, 0] - advanced) > 0.5 * self.timestep
        # MuJoCo's own bound (mjMAXVAL): a state beyond it is reset at once.
        reset |= ~np.all(np.abs(packed[:, :nstate]) <= 1e10, axis=1)
        last[reset] = np.nan
        return np.reshape(last, (*batch_shape, nstate))

    def step(self, data: CData, ctrl: jax.Array) -> CData:
        """Applies `ctrl` and advances `n_substeps` physics steps (jittable)."""
        backend = jax.default_backend()
        if backend != "cpu":
            raise ValueError(
                f"{self.owner}.impl='c' steps MuJoCo's C engine on the host and "
                f"runs in CPU programs only; the default backend is {backend!r} "
                f"(use impl='jax' there)"
            )
        nq = self.mj_model.nq
        packed = jnp.concatenate(
            [data.time[None], data.qpos, data.qvel, ctrl], dtype=jnp.float32
        )
        shape = jax.ShapeDtypeStruct((self.state_size,), jnp.float32)
        state = jax.pure_callback(
            self._host_step, shape, packed, vmap_method="broadcast_all"
        )
        return CData(time=state[0], qpos=state[1 : 1 + nq], qvel=state[1 + nq :])

    def make_data(self, qpos: jax.Array, qvel: jax.Array) -> CData:
        """A fresh state at (qpos, qvel), time zero."""
        return CData(
            time=jnp.zeros((), jnp.float32),
            qpos=jnp.asarray(qpos, jnp.float32),
            qvel=jnp.asarray(qvel, jnp.float32),
        )

    def __getstate__(self):
        # Thread pools and MjData buffers are rebuilt where the engine lands.
        empty = {"_pools": None, "_datas": None, "_lock": None, "_by_batch": {}}
        return {**self.__dict__, **empty}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
