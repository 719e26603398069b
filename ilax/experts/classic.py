"""Analytic experts for the pendulum and cart-pole: energy shaping, then LQR.

Far from upright, both experts pump the pole's mechanical energy to its
upright level (Astrom and Furuta, "Swinging up a pendulum by energy control",
Automatica 2000); near upright they balance with a discrete LQR. The LQR gains
come from the task's own MuJoCo model, linearized at upright over one control
period (`mujoco.mjd_transitionFD` per physics step, composed over the
substeps) and a Riccati iteration in numpy, once at construction. Masses,
lengths and inertias are read from the model too, so the experts follow
changes to the MJCF or the timestep.

Both experts are stateless functions of the privileged state (qpos, qvel):
which law acts is decided from the state alone, so a pole that leaves the
balancing region is swung up again, and any state a learner visits can be
labelled.
"""

import copy
import dataclasses

import jax
import jax.numpy as jnp
import mujoco
import numpy as np

from ilax import config as config_lib
from ilax import policies
from ilax.envs import base
from ilax.experts import registry
from ilax.types import Observation, Policy


@dataclasses.dataclass(kw_only=True)
class PendulumExpertConfig:
    """Energy shaping and LQR gains of the pendulum expert."""

    energy_gain: float = 10.0
    """Action per (J of missing energy x rad/s of angular velocity)."""
    kick: float = 0.001
    """Velocity (rad/s) added to the pumping term so a pole at rest still moves;
    keep energy_gain * 2 m g l * kick / gear well below 1."""
    lqr_angle_cost: float = 10.0
    """LQR state cost on the angle from upright (rad^2)."""
    lqr_velocity_cost: float = 1.0
    """LQR state cost on the angular velocity ((rad/s)^2)."""
    lqr_action_cost: float = 1.0
    """LQR cost on the action (in [-1, 1])."""
    switch_action: float = 1.5
    """LQR balances where its unclipped action stays within this magnitude."""
    switch_angle: float = 0.5
    """LQR balances only within this angle (rad) of upright."""


@dataclasses.dataclass(kw_only=True)
class CartpoleExpertConfig:
    """Energy shaping, cart centring and LQR gains of the cart-pole expert."""

    energy_gain: float = 20.0
    """Cart acceleration (m/s^2) per (J of missing energy x rad/s)."""
    max_swing_acceleration: float = 5.0
    """Bound (m/s^2) on the cart acceleration requested while swinging up."""
    kick: float = 0.001
    """Velocity (rad/s) added to the pumping term so a pole at rest still moves."""
    centring_stiffness: float = 4.0
    """Cart acceleration (m/s^2) per m away from the rail's centre."""
    centring_damping: float = 2.0
    """Cart acceleration (m/s^2) per m/s of cart velocity."""
    lqr_state_cost: tuple[float, float, float, float] = (1.0, 10.0, 0.1, 0.1)
    """LQR state cost on (x, angle, x velocity, angular velocity), diagonal."""
    lqr_action_cost: float = 0.1
    """LQR cost on the action (in [-1, 1])."""
    switch_action: float = 3.0
    """LQR balances where its unclipped action stays within this magnitude."""
    switch_angle: float = 0.5
    """LQR balances only within this angle (rad) of upright."""


def linearize_upright(env: base.MjxEnv) -> tuple[np.ndarray, np.ndarray]:
    """Discrete linear dynamics at upright rest over one control period.

    Args:
      env: the unwrapped MJX task; its model's timestep is the physics step.

    Returns:
      `(A, B)` with `dstate_next = A dstate + B daction`, state (qpos, qvel).
      Each physics step is finite-differenced by MuJoCo; holding the action
      over `n_substeps` steps composes them exactly: A = A1^n and
      B = sum_i A1^i B1.
    """
    model = copy.deepcopy(env.mj_model)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    size = 2 * model.nv + model.na
    step_a = np.zeros((size, size))
    step_b = np.zeros((size, model.nu))
    mujoco.mjd_transitionFD(model, data, 1e-6, True, step_a, step_b, None, None)
    a, b = np.eye(size), np.zeros((size, model.nu))
    for _ in range(env.config.n_substeps):
        a, b = step_a @ a, step_a @ b + step_b
    return a, b


def solve_lqr(
    a: np.ndarray, b: np.ndarray, q: np.ndarray, r: np.ndarray, tol: float = 1e-10
) -> tuple[np.ndarray, np.ndarray]:
    """Infinite-horizon discrete LQR by Riccati iteration.

    Returns:
      `(K, P)`: the gain of `action = -K state` and the cost-to-go matrix.

    Raises:
      RuntimeError: the iteration did not converge (the pair (A, B) is not
        stabilizable, or the costs are not positive definite).
    """
    p = q.copy()
    for _ in range(100_000):
        gain = np.linalg.solve(r + b.T @ p @ b, b.T @ p @ a)
        p_next = q + a.T @ p @ (a - b @ gain)
        p_next = (p_next + p_next.T) / 2
        if np.max(np.abs(p_next - p)) <= tol * max(1.0, np.max(np.abs(p))):
            return np.linalg.solve(r + b.T @ p_next @ b, b.T @ p_next @ a), p_next
        if not np.max(np.abs(p_next)) < 1e100:
            break  # the cost-to-go grows without bound
        p = p_next
    raise RuntimeError(
        "solve_lqr: the Riccati iteration did not converge; (A, B) must be "
        "stabilizable and Q, R positive definite"
    )


def _pole_constants(mj_model: mujoco.MjModel, hinge: int) -> tuple[float, float]:
    """(inertia about the hinge, mass x hinge-to-centre-of-mass distance)."""
    data = mujoco.MjData(mj_model)
    mujoco.mj_forward(mj_model, data)
    mass_matrix = np.zeros((mj_model.nv, mj_model.nv))
    mujoco.mj_fullM(mj_model, data, mass_matrix)
    body = mj_model.jnt_bodyid[hinge]
    moment = mj_model.body_mass[body] * np.linalg.norm(mj_model.body_ipos[body])
    return float(mass_matrix[hinge, hinge]), float(moment)


def lqr_gain(env: base.MjxEnv, state_cost, action_cost: float) -> np.ndarray:
    """LQR gain `[action_size, state_size]` of `env` balancing upright.

    Args:
      env: the unwrapped MJX task.
      state_cost: diagonal of the state cost on (qpos, qvel).
      action_cost: cost on the squared action.
    """
    a, b = linearize_upright(env)
    gain, _ = solve_lqr(a, b, np.diag(state_cost), np.array([[action_cost]]))
    return gain


def make_pendulum_expert(env: base.Env, **overrides) -> Policy:
    """Energy-shaping swing-up with LQR balancing for the `pendulum` task.

    Args:
      env: the pendulum task (wrapped or not).
      **overrides: fields of `PendulumExpertConfig`.
    """
    config = config_lib.replace(PendulumExpertConfig(), **overrides)
    task = env.unwrapped
    inertia, moment = _pole_constants(task.mj_model, hinge=0)
    gravity = float(-task.mj_model.opt.gravity[2])
    gear = float(task.mj_model.actuator_gear[0, 0])
    gain = jnp.asarray(
        lqr_gain(
            task,
            (config.lqr_angle_cost, config.lqr_velocity_cost),
            config.lqr_action_cost,
        )[0],
        jnp.float32,
    )
    low, high = (jnp.asarray(bound) for bound in task.action_bounds)

    def act(observation: Observation, key: jax.Array) -> jax.Array:
        del key
        angle = base.wrap_angle(observation.privileged[0])
        velocity = observation.privileged[1]
        # Zero at upright rest, -2 m g l hanging at rest.
        energy = 0.5 * inertia * velocity**2 + moment * gravity * (jnp.cos(angle) - 1)
        # The kick must stay small: a bias that alone saturates the motor
        # would hold the pole where full torque balances gravity.
        pump = config.energy_gain * (-energy) * (velocity + config.kick) / gear
        balance = -jnp.dot(gain, jnp.stack([angle, velocity]))
        use_lqr = (jnp.abs(balance) < config.switch_action) & (
            jnp.abs(angle) < config.switch_angle
        )
        action = jnp.where(use_lqr, balance, pump)
        return jnp.clip(action[None], low, high)

    return policies.stateless(act)


def make_cartpole_expert(env: base.Env, **overrides) -> Policy:
    """Energy-based swing-up with cart centring, then LQR, for `cartpole`.

    While swinging up, the expert asks for a cart acceleration that pumps the
    pole's energy (Astrom and Furuta) plus a spring-damper pulling the cart
    to the rail's centre, and turns it into a force through the cart-pole's
    equations of motion (partial feedback linearization).

    Args:
      env: the cart-pole task (wrapped or not).
      **overrides: fields of `CartpoleExpertConfig`.
    """
    config = config_lib.replace(CartpoleExpertConfig(), **overrides)
    task = env.unwrapped
    model = task.mj_model
    inertia, moment = _pole_constants(model, hinge=1)
    total_mass = float(model.body_subtreemass[model.jnt_bodyid[0]])
    gravity = float(-model.opt.gravity[2])
    gear = float(model.actuator_gear[0, 0])
    # The model's degrees of freedom are (slider, hinge), in this order.
    cart_damping, pole_damping = (float(d) for d in model.dof_damping)
    gain = jnp.asarray(
        lqr_gain(task, config.lqr_state_cost, config.lqr_action_cost)[0],
        jnp.float32,
    )
    low, high = (jnp.asarray(bound) for bound in task.action_bounds)

    def force_for(acceleration, angle, angle_velocity, cart_velocity):
        # Cart-pole equations with the angle from upright:
        #   (M + m) xdd + m l cos(a) add - m l sin(a) ad^2 = F - b_x xd
        #   m l cos(a) xdd + J add - m l g sin(a) = -b_a ad
        coupling = moment * jnp.cos(angle)
        angle_acceleration = (
            moment * gravity * jnp.sin(angle)
            - pole_damping * angle_velocity
            - coupling * acceleration
        ) / inertia
        return (
            total_mass * acceleration
            + coupling * angle_acceleration
            - moment * jnp.sin(angle) * angle_velocity**2
            + cart_damping * cart_velocity
        )

    def act(observation: Observation, key: jax.Array) -> jax.Array:
        del key
        position, raw_angle, cart_velocity, angle_velocity = observation.privileged
        angle = base.wrap_angle(raw_angle)
        energy = 0.5 * inertia * angle_velocity**2 + moment * gravity * (
            jnp.cos(angle) - 1
        )
        # d(energy)/dt = -m l cos(a) ad xdd, so this acceleration raises a
        # deficient energy (and lowers an excess one).
        pump = (
            config.energy_gain
            * energy
            * (angle_velocity + config.kick)
            * jnp.cos(angle)
        )
        pump = jnp.clip(
            pump, -config.max_swing_acceleration, config.max_swing_acceleration
        )
        centring = (
            -config.centring_stiffness * position
            - config.centring_damping * cart_velocity
        )
        swing = force_for(pump + centring, angle, angle_velocity, cart_velocity) / gear
        state = jnp.stack([position, angle, cart_velocity, angle_velocity])
        balance = -jnp.dot(gain, state)
        use_lqr = (jnp.abs(balance) < config.switch_action) & (
            jnp.abs(angle) < config.switch_angle
        )
        action = jnp.where(use_lqr, balance, swing)
        return jnp.clip(action[None], low, high)

    return policies.stateless(act)


registry.register("pendulum", make_pendulum_expert)
registry.register("cartpole", make_cartpole_expert)
