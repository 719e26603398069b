"""Demonstrators for "slot": a scripted inserter and a hesitant, noisy "human".

Both command absolute target positions (the task's action) along
minimum-jerk profiles, s(tau) = 10 tau^3 - 15 tau^4 + 6 tau^5: first an
approach from where the disc starts to the pre-insertion point (slot_x,
wall_y - standoff), then, once a gate opens, a straight insertion along the
slot's axis to the centre of a disc resting on the slot's bottom. The PD law
of the task pulls the disc back onto the profile after the push.

- `scripted`: fixed timing. The approach takes `approach_time`; the insertion
  starts at episode time `insertion_start` (default 2 s, after the latest
  push has ended and settled) provided the disc is within `align_tolerance`
  of the slot's axis and slower than `speed_tolerance`, otherwise as soon as
  it is, and takes `insertion_time`. Its demonstrations are identical up to
  the start, the slot's position and the push.
- `human`: per episode, a speed factor f ~ U(speed_factor_low,
  speed_factor_high) divides both durations; the approach bends through a
  via point offset sideways by d ~ U(-detour, detour) at its middle
  (the profile plus d sin(pi s) along the path's normal); at the
  pre-insertion point it pauses for U(0, max_pause) seconds, counted from
  its arrival or from the push's end plus `settle_time`, whichever is later,
  a wait the observation does not reveal (the non-Markovian property ACT's
  chunking targets); and the commanded target carries low-pass tremor, an AR(1)
  process of stationary standard deviation `tremor_std` and time constant
  `tremor_time_constant`. It does not check alignment before inserting.

Both read the privileged state and keep everything else in their policy
state: a phase clock (control steps since the episode began), the start
position (taken at the first step), whether and when the insertion began, and
the human's draws. So they can be queried at any state a learner visits
(DAgger): the target is a function of that state and the clock. Neither
starts the insertion before the push has ended and `settle_time` has passed
(the push time is privileged), because a push inside the slot's 5 mm
clearance ends any episode; and a disc already between the slot's walls is
pushed on to the bottom rather than pulled out.

Measured over 5,000 episodes of the default task: scripted success 1.000,
every episode 143 steps (2.86 s); human success 0.9998 (a tremor contact),
137 +- 20 steps (5-95%: 102-170). From 2,000 random free-space states at
random times (speeds up to 0.3 m/s): scripted 1.000, human 0.999.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp

from ilax import config as config_lib
from ilax import policies
from ilax.envs import slot as slot_env
from ilax.experts import registry
from ilax.types import Observation, Policy

STYLES = ("scripted", "human")


@dataclasses.dataclass(kw_only=True)
class SlotExpertConfig:
    """Settings of the slot demonstrators; lengths in metres, times in seconds.

    Fields marked (human) are ignored by the scripted style, and those marked
    (scripted) by the human one.
    """

    style: str = "scripted"
    """"scripted" (fixed timing) or "human" (hesitant and noisy)."""
    standoff: float = 0.1
    """Distance of the pre-insertion point below the wall face."""
    approach_time: float = 1.0
    """Duration of the approach profile (the human's at speed factor 1)."""
    insertion_time: float = 0.5
    """Duration of the insertion profile (the human's at speed factor 1)."""
    settle_time: float = 0.2
    """Wait after the push ends before the insertion may start; the disc
    reaches the slot's mouth a further 0.3-0.5 s later, by when at most
    0.5 mm of the push's displacement remains."""
    insertion_start: float = 2.0
    """(scripted) Episode time at which the insertion starts."""
    align_tolerance: float = 0.003
    """(scripted) Largest offset from the slot's axis at which it inserts."""
    speed_tolerance: float = 0.05
    """(scripted) Largest disc speed (m/s) at which it inserts."""
    speed_factor_low: float = 0.7
    """(human) Lower end of the per-episode speed factor."""
    speed_factor_high: float = 1.3
    """(human) Upper end of the per-episode speed factor."""
    detour: float = 0.1
    """(human) Largest sideways offset of the approach's via point."""
    max_pause: float = 1.0
    """(human) Longest pause at the pre-insertion point."""
    tremor_std: float = 0.002
    """(human) Stationary standard deviation of the tremor, per axis."""
    tremor_time_constant: float = 0.1
    """(human) Correlation time of the tremor's low-pass filter."""


class SlotExpertState(NamedTuple):
    """Per-episode state of a slot demonstrator (unbatched shapes)."""

    clock: jax.Array  # [] int32 control steps since the episode began
    start: jax.Array  # [2] disc position at the first step
    inserting: jax.Array  # [] bool, the insertion has begun
    insertion_began: jax.Array  # [] episode time the insertion began
    insertion_from: jax.Array  # [] target height the insertion began at
    speed: jax.Array  # [] speed factor (1 for scripted)
    detour: jax.Array  # [] sideways offset of the via point (0 for scripted)
    pause: jax.Array  # [] pause at the pre-insertion point (0 for scripted)
    tremor: jax.Array  # [2] current tremor offset (0 for scripted)


def minimum_jerk(tau: jax.Array) -> jax.Array:
    """The minimum-jerk profile s(tau) on [0, 1], clamped outside it."""
    tau = jnp.clip(tau, 0.0, 1.0)
    return tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)


def make_slot_expert(env, **overrides) -> Policy:
    """A slot demonstrator.

    Args:
      env: a slot environment, possibly wrapped.
      **overrides: fields of `SlotExpertConfig`, e.g. `style="human"`.

    Returns:
      A `Policy` over privileged observations whose state is a
      `SlotExpertState` per environment; `init` draws the human's speed
      factor, via point, pause and initial tremor.
    """
    config = config_lib.replace(SlotExpertConfig(), **overrides)
    _validate(config)
    task = env.unwrapped
    task_config = task.config
    if not config.standoff > task_config.disc_radius:
        raise ValueError(
            f"SlotExpertConfig.standoff must be > the task's disc_radius "
            f"({task_config.disc_radius!r}) to stop clear of the wall; got "
            f"{config.standoff!r}"
        )
    dt = task.dt
    human = config.style == "human"
    low, high = (jnp.asarray(bound) for bound in task.action_bounds)
    pre_y = task_config.wall_y - config.standoff
    goal_y = task.goal_depth
    between_walls = 0.5 * task_config.slot_width - task_config.disc_radius
    mouth_y = task_config.wall_y - task_config.disc_radius
    push_clear = task_config.push_duration + config.settle_time
    # AR(1) tremor: x' = a x + sqrt(1 - a^2) std eps keeps std stationary.
    tremor_decay = float(jnp.exp(-dt / config.tremor_time_constant))
    tremor_gain = config.tremor_std * (1.0 - tremor_decay**2) ** 0.5

    def init(key: jax.Array) -> SlotExpertState:
        key_speed, key_detour, key_pause, key_tremor = jax.random.split(key, 4)
        zero = jnp.zeros((), jnp.float32)
        if human:
            speed = jax.random.uniform(
                key_speed,
                (),
                minval=config.speed_factor_low,
                maxval=config.speed_factor_high,
            )
            detour = jax.random.uniform(
                key_detour, (), minval=-config.detour, maxval=config.detour
            )
            pause = jax.random.uniform(key_pause, (), maxval=config.max_pause)
            tremor = config.tremor_std * jax.random.normal(key_tremor, (2,))
        else:
            speed, detour, pause, tremor = zero + 1.0, zero, zero, jnp.zeros(2)
        return SlotExpertState(
            clock=jnp.zeros((), jnp.int32),
            start=jnp.zeros(2),
            inserting=jnp.zeros((), bool),
            insertion_began=zero,
            insertion_from=zero + pre_y,
            speed=speed,
            detour=detour,
            pause=pause,
            tremor=tremor,
        )

    def approach_target(state: SlotExpertState, pre: jax.Array, time: jax.Array):
        """The approach profile at `time`, through the via point."""
        line = pre - state.start
        normal = jnp.stack([-line[1], line[0]]) / (jnp.linalg.norm(line) + 1e-9)
        progress = minimum_jerk(time * state.speed / config.approach_time)
        bend = state.detour * jnp.sin(jnp.pi * progress)
        return state.start + progress * line + bend * normal

    def ready(state: SlotExpertState, privileged: jax.Array, now: jax.Array):
        """Whether the insertion may start (before the slot-walls exception)."""
        if human:
            arrival = config.approach_time / state.speed
            settled = privileged[slot_env.PUSH_START] + push_clear
            return now >= jnp.maximum(arrival, settled) + state.pause
        offset = jnp.abs(privileged[0] - privileged[4])
        slow = jnp.linalg.norm(privileged[2:4]) <= config.speed_tolerance
        return (
            (now >= config.insertion_start) & (offset <= config.align_tolerance) & slow
        )

    def step(state: SlotExpertState, observation: Observation, key: jax.Array):
        privileged = observation.privileged
        position, slot_x = privileged[:2], privileged[4]
        now = state.clock.astype(jnp.float32) * dt
        state = state._replace(start=jnp.where(state.clock == 0, position, state.start))
        push_over = privileged[slot_env.TIME] >= (
            privileged[slot_env.PUSH_START] + push_clear
        )
        inside = (position[1] > mouth_y) & (
            jnp.abs(position[0] - slot_x) < between_walls
        )
        begin = ~state.inserting & (
            (ready(state, privileged, now) & push_over) | inside
        )
        state = state._replace(
            inserting=state.inserting | begin,
            insertion_began=jnp.where(begin, now, state.insertion_began),
            # From the pre-insertion height, so that the profile is the same
            # every time, unless the disc is already deeper, in the slot.
            insertion_from=jnp.where(
                begin,
                jnp.where(inside, jnp.maximum(pre_y, position[1]), pre_y),
                state.insertion_from,
            ),
        )
        # Targets are for the control step ahead, hence `now + dt`.
        pre = jnp.stack([slot_x, jnp.asarray(pre_y, jnp.float32)])
        progress = minimum_jerk(
            (now + dt - state.insertion_began) * state.speed / config.insertion_time
        )
        insert = jnp.stack(
            [slot_x, state.insertion_from + progress * (goal_y - state.insertion_from)]
        )
        target = jnp.where(
            state.inserting, insert, approach_target(state, pre, now + dt)
        )
        if human:
            tremor = tremor_decay * state.tremor + tremor_gain * jax.random.normal(
                key, (2,)
            )
            state = state._replace(tremor=tremor)
            target = target + tremor
        state = state._replace(clock=state.clock + 1)
        return jnp.clip(target, low, high), state, {}

    return policies.per_env(step, init)


def _validate(config: SlotExpertConfig) -> None:
    """Raises ValueError naming the first invalid field of `config`."""
    owner = type(config).__name__
    config_lib.check_choice(owner, "style", config.style, STYLES)
    config_lib.check_fields(
        config,
        positive=(
            "standoff",
            "approach_time",
            "insertion_time",
            "align_tolerance",
            "speed_tolerance",
            "speed_factor_low",
            "tremor_time_constant",
        ),
        non_negative=("settle_time", "detour", "max_pause", "tremor_std"),
    )
    if not config.speed_factor_high >= config.speed_factor_low:
        raise ValueError(
            f"{owner}.speed_factor_high must be >= speed_factor_low "
            f"({config.speed_factor_low!r}); got {config.speed_factor_high!r}"
        )
    if not config.insertion_start >= config.approach_time:
        raise ValueError(
            f"{owner}.insertion_start must be >= approach_time "
            f"({config.approach_time!r}); got {config.insertion_start!r}"
        )


registry.register("slot", make_slot_expert)
