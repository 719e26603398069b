"""Kart-track: a constant-speed kart steered around a closed wavy loop.

The covariate-shift benchmark of DAgger (Ross et al. 2011, Super Tux Kart) and
DART (Laskey et al. 2017), rebuilt as a kinematic task. The kart drives
counter-clockwise at constant speed; the action is its yaw rate. Leaving the
track counts a fall and puts the kart back on the centreline, heading along
the track, as the game does, so episodes never terminate and the measure of
a policy is its falls per lap.

The learner sees only an egocentric occupancy grid (a binary "image" of which
probe points ahead of the kart lie on the track); the privileged state holds
the pose, velocity and unwrapped track angle, enough for the pure-pursuit
expert in `ilax.experts.kart_track` to steer from any pose.

The track is defined by one distance measure, used for falls, observations
and the expert alike: with the centreline in polar form r(phi), a point at
polar coordinates (rho, phi) has the signed offset
`(rho - r(phi)) / sqrt(1 + (r'(phi) / r(phi))**2)` (positive outside), a
first-order estimate of its normal distance to the centreline; it is on the
track where the offset's magnitude is at most the half-width.
"""

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from mujoco import mjx

from ilax import config as config_lib
from ilax.envs import base, registry

# Falls per lap divides by the laps driven; below this many laps (about 11
# steps at the defaults) the ratio is taken over this floor instead, so an
# episode that barely moves reports a large but finite rate.
_MIN_LAPS = 0.05


@dataclasses.dataclass(kw_only=True)
class KartTrackConfig(base.MjxConfig):
    """Kart-track settings; the defaults are the calibrated benchmark."""

    # One Euler step per 0.1 s control period: the calibrated kinematics and
    # the cheapest (two 0.05 s substeps gave the same picture: expert 0 falls,
    # behaviour cloning 0.8 instead of 0.9 falls per lap).
    timestep: float = 0.1
    n_substeps: int = 1
    episode_length: int = 215
    iterations: int = 1
    ls_iterations: int = 1
    speed: float = 2.0
    """Constant forward speed of the kart (m/s)."""
    max_yaw_rate: float = 2.5
    """Bound of the yaw-rate action (rad/s), written to the actuator's ctrlrange."""
    mean_radius: float = 6.0
    """Constant term of the centreline's polar radius r(phi) (m)."""
    sin3_amplitude: float = 1.2
    """Amplitude of the sin(3 phi) term of r(phi) (m)."""
    cos5_amplitude: float = 0.6
    """Amplitude of the cos(5 phi) term of r(phi) (m)."""
    half_width: float = 0.6
    """Largest centreline offset (m) that is still on the track."""
    grid_rows: int = 8
    """Probe rows of the occupancy grid, from near to far."""
    grid_cols: int = 8
    """Probe columns of the occupancy grid, from right to left."""
    grid_near: float = 0.3
    """Distance ahead of the kart of the nearest probe row (m)."""
    grid_far: float = 4.0
    """Distance ahead of the kart of the farthest probe row (m)."""
    grid_half_width: float = 2.0
    """Lateral distance of the outermost probe columns (m)."""
    fall_penalty: float = 5.0
    """Reward lost per fall, in metres of centreline progress."""
    start_lateral_noise: float = 0.0
    """Start offsets from the centreline are uniform within +- this (m)."""
    start_heading_noise: float = 0.0
    """Start headings deviate from the track's by uniform +- this (rad)."""


class TrackPoint(NamedTuple):
    """A point's polar angle and offset, and the centreline at that angle."""

    angle: jax.Array  # polar angle phi (rad), in [-pi, pi]
    offset: jax.Array  # signed centreline offset (m), positive outside
    centre: jax.Array  # [..., 2] centreline point at phi, the offset's foot
    heading: jax.Array  # direction of travel along the centreline at phi
    arc_rate: jax.Array  # centreline length per radian at phi, ds/dphi


@dataclasses.dataclass(frozen=True)
class Track:
    """The centreline r(phi) = R + a sin(3 phi) + b cos(5 phi) and its width."""

    mean_radius: float
    sin3_amplitude: float
    cos5_amplitude: float
    half_width: float

    def radius(self, phi: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Centreline radius r(phi) and its derivative r'(phi)."""
        return self._radius_at(jnp.cos(phi), jnp.sin(phi))

    def _radius_at(self, cos: jax.Array, sin: jax.Array):
        # Multiple-angle identities in cos(phi) and sin(phi): the occupancy
        # grid evaluates the track at 64 points per step, and polynomials
        # cost far less there than an arctan2 and four more trig calls.
        cos2, sin2 = cos**2, sin**2
        sin3 = sin * (3 - 4 * sin2)
        cos3 = cos * (4 * cos2 - 3)
        sin5 = sin * (16 * sin2**2 - 20 * sin2 + 5)
        cos5 = cos * (16 * cos2**2 - 20 * cos2 + 5)
        a, b = self.sin3_amplitude, self.cos5_amplitude
        r = self.mean_radius + a * sin3 + b * cos5
        dr = 3 * a * cos3 - 5 * b * sin5
        return r, dr

    def arc_rate(self, phi: jax.Array) -> jax.Array:
        """Centreline length per radian of polar angle, ds/dphi."""
        r, dr = self.radius(phi)
        return jnp.sqrt(r**2 + dr**2)

    def centreline(self, phi: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Centreline point `[..., 2]` at polar angle phi and its heading.

        The heading is the direction of counter-clockwise travel.
        """
        cos, sin = jnp.cos(phi), jnp.sin(phi)
        r, dr = self._radius_at(cos, sin)
        point = jnp.stack([r * cos, r * sin], axis=-1)
        heading = jnp.arctan2(dr * sin + r * cos, dr * cos - r * sin)
        return point, heading

    def project(self, xy: jax.Array) -> TrackPoint:
        """Where points `[..., 2]` stand relative to the track."""
        x, y = xy[..., 0], xy[..., 1]
        # The origin has no polar angle; the track keeps well clear of it.
        rho = jnp.sqrt(jnp.maximum(x**2 + y**2, 1e-12))
        cos, sin = x / rho, y / rho
        r, dr = self._radius_at(cos, sin)
        arc_rate = jnp.sqrt(r**2 + dr**2)
        return TrackPoint(
            angle=jnp.arctan2(y, x),
            offset=(rho - r) * r / arc_rate,
            centre=jnp.stack([r * cos, r * sin], axis=-1),
            heading=jnp.arctan2(dr * sin + r * cos, dr * cos - r * sin),
            arc_rate=arc_rate,
        )

    def offset(self, xy: jax.Array) -> jax.Array:
        """Signed centreline offset (m, positive outside) of points `[..., 2]`."""
        return self.project(xy).offset

    def locate(self, xy: jax.Array) -> tuple[jax.Array, jax.Array]:
        """Polar angle and signed centreline offset of points `[..., 2]`."""
        point = self.project(xy)
        return point.angle, point.offset

    def on_track(self, xy: jax.Array) -> jax.Array:
        """True where the points `[..., 2]` lie on the track."""
        # |offset| <= half_width, squared so that the 64 probes of every step
        # need one reciprocal square root each and no division (r > 0).
        x, y = xy[..., 0], xy[..., 1]
        inverse_rho = jax.lax.rsqrt(jnp.maximum(x**2 + y**2, 1e-12))
        r, dr = self._radius_at(x * inverse_rho, y * inverse_rho)
        excess = (x**2 + y**2) * inverse_rho - r
        return (excess * r) ** 2 <= self.half_width**2 * (r**2 + dr**2)

    def length(self, num_points: int = 4096) -> float:
        """Length of the centreline (m), by the rectangle rule on a closed curve."""
        phi = np.linspace(0.0, 2 * np.pi, num_points, endpoint=False)
        return float(np.mean(np.asarray(self.arc_rate(phi))) * 2 * np.pi)


class KartTrack(base.MjxEnv):
    """Drive laps without leaving the track; falls respawn the kart.

    Observation: the occupancy grid, `grid_rows * grid_cols` values, 1. where
    a probe lies on the track (no bias term). Privileged state: (x, y, yaw,
    vx, vy, yaw rate, unwrapped track angle). Reward per step: the centreline
    length covered (m, negative when driving backwards) minus
    `fall_penalty` per fall. Episodes end only by the time limit.

    Metrics, cumulative over the episode so far: `falls`, `laps` (track angle
    covered over 2 pi, continuous), `falls_per_lap` (falls over laps, with
    laps floored at 0.05), `lateral_error` (mean centreline offset magnitude
    per step, measured before any respawn) and `success` (1. with no fall).
    Pool falls and laps over episodes for a rate that short or slow episodes
    do not dominate.
    """

    name = "kart_track"

    def __init__(self, config: KartTrackConfig):
        owner = type(config).__name__
        for field in (
            "speed",
            "max_yaw_rate",
            "half_width",
            "grid_rows",
            "grid_cols",
            "grid_far",
            "grid_half_width",
        ):
            config_lib.check_positive(owner, field, getattr(config, field))
        config_lib.check_fields(
            config,
            non_negative=(
                "grid_near",
                "fall_penalty",
                "start_lateral_noise",
                "start_heading_noise",
            ),
        )
        if not config.grid_far > config.grid_near:
            raise ValueError(
                f"{owner}.grid_far must be > grid_near ({config.grid_near!r}); "
                f"got {config.grid_far!r}"
            )
        if not config.start_lateral_noise < config.half_width:
            raise ValueError(
                f"{owner}.start_lateral_noise must be < half_width "
                f"({config.half_width!r}); got {config.start_lateral_noise!r}"
            )
        # The track must keep clear of the origin, where the polar angle of a
        # point (and so the offset measure) is undefined.
        inner = abs(config.sin3_amplitude) + abs(config.cos5_amplitude)
        if not config.mean_radius > inner + config.half_width:
            raise ValueError(
                f"{owner}.mean_radius must be > |sin3_amplitude| + "
                f"|cos5_amplitude| + half_width = {inner + config.half_width!r}; "
                f"got {config.mean_radius!r}"
            )
        mj_model = base.load_model("kart_track.xml")
        mj_model.actuator_ctrlrange[0] = (-config.max_yaw_rate, config.max_yaw_rate)
        super().__init__(config, mj_model)
        self.track = Track(
            mean_radius=config.mean_radius,
            sin3_amplitude=config.sin3_amplitude,
            cos5_amplitude=config.cos5_amplitude,
            half_width=config.half_width,
        )
        ahead = np.linspace(config.grid_near, config.grid_far, config.grid_rows)
        lateral = np.linspace(
            -config.grid_half_width, config.grid_half_width, config.grid_cols
        )
        rows, cols = np.meshgrid(ahead, lateral, indexing="ij")
        # Row-major: obs[i * grid_cols + j] is probe row i (near to far),
        # column j (right to left, in the kart's frame).
        self.probe_offsets = np.stack([rows.ravel(), cols.ravel()], -1).astype(
            np.float32
        )

    @property
    def lap_length(self) -> float:
        """Centreline length (m)."""
        return self.track.length()

    @property
    def steps_per_lap(self) -> float:
        """Control steps of one lap driven along the centreline."""
        return self.lap_length / (self.config.speed * self.dt)

    def reset(self, key: jax.Array) -> base.State:
        key_angle, key_offset, key_heading = jax.random.split(key, 3)
        phi = jax.random.uniform(key_angle, (), minval=-jnp.pi, maxval=jnp.pi)
        centre, heading = self.track.centreline(phi)
        config = self.config
        offset = config.start_lateral_noise * jax.random.uniform(
            key_offset, (), minval=-1.0, maxval=1.0
        )
        yaw = heading + config.start_heading_noise * jax.random.uniform(
            key_heading, (), minval=-1.0, maxval=1.0
        )
        # The offset runs along the left normal of the track's heading.
        xy = centre + offset * jnp.stack([-jnp.sin(heading), jnp.cos(heading)])
        qvel = jnp.stack([config.speed * jnp.cos(yaw), config.speed * jnp.sin(yaw)])
        privileged = jnp.concatenate(
            [xy, yaw[None], qvel, jnp.zeros((1,)), self.track.locate(xy)[0][None]]
        )
        return self.state_from_privileged(privileged)

    def state_from_privileged(self, privileged: jax.Array) -> base.State:
        """A fresh episode at privileged state (x, y, yaw, vx, vy, yaw rate, angle).

        The last entry is the unwrapped track angle, from which lap progress
        of the new episode is counted.
        """
        privileged = jnp.asarray(privileged, jnp.float32)
        data = self.make_data(privileged[:3], privileged[3:6])
        zero = jnp.zeros((), jnp.float32)
        info = {
            "track_angle": privileged[6],
            "start_angle": privileged[6],
            "falls": jnp.zeros((), jnp.int32),
            "abs_offset_sum": zero,
            "step_count": jnp.zeros((), jnp.int32),
        }
        return base.State.create(
            data=data,
            obs=self._observe(privileged[:2], privileged[2]),
            privileged=privileged,
            reward=0.0,
            terminated=False,
            metrics=self._metrics(info),
            info=info,
        )

    def _step(self, state: base.State, action: jax.Array) -> base.State:
        low, high = self.action_bounds
        yaw_rate = jnp.clip(action[0], low[0], high[0])
        data = self._drive(state.data, yaw_rate)
        point = self.track.project(data.qpos[:2])
        phi, offset, centre, heading = point[:4]
        fell = jnp.abs(offset) > self.config.half_width
        # A fall puts the kart back at the centreline point of its polar
        # angle, the foot of the offset measure, heading along the track.
        speed = self.config.speed
        qpos = jnp.where(fell, jnp.concatenate([centre, heading[None]]), data.qpos)
        respawn_qvel = jnp.stack(
            [speed * jnp.cos(heading), speed * jnp.sin(heading), jnp.zeros(())]
        )
        qvel = jnp.where(fell, respawn_qvel, data.qvel)
        data = data.replace(qpos=qpos, qvel=qvel)

        info = state.info
        progress = base.wrap_angle(phi - info["track_angle"])
        track_angle = info["track_angle"] + progress
        falls = info["falls"] + fell.astype(jnp.int32)
        info = {
            **info,
            "track_angle": track_angle,
            "falls": falls,
            "abs_offset_sum": info["abs_offset_sum"] + jnp.abs(offset),
            "step_count": info["step_count"] + 1,
        }
        metres = point.arc_rate * progress
        reward = metres - self.config.fall_penalty * fell.astype(jnp.float32)
        yaw = base.wrap_angle(qpos[2])
        privileged = jnp.concatenate([qpos[:2], yaw[None], qvel, track_angle[None]])
        return base.State.create(
            data=data,
            obs=self._observe(qpos[:2], yaw),
            privileged=privileged,
            reward=reward,
            terminated=False,
            metrics=self._metrics(info),
            info=info,
        )

    def _drive(self, data: mjx.Data, yaw_rate: jax.Array) -> mjx.Data:
        """Advances the unicycle one control period at constant speed."""
        data = data.replace(ctrl=jnp.reshape(yaw_rate, (1,)).astype(data.ctrl.dtype))
        speed = self.config.speed

        def substep(data, _):
            yaw = data.qpos[2]
            qvel = jnp.stack([speed * jnp.cos(yaw), speed * jnp.sin(yaw), yaw_rate])
            return mjx.step(self.mjx_model, data.replace(qvel=qvel)), None

        with base.mjx_scope():
            data, _ = jax.lax.scan(substep, data, None, length=self.config.n_substeps)
        return data

    def _observe(self, xy: jax.Array, yaw: jax.Array) -> jax.Array:
        """The occupancy grid: 1. where a probe point lies on the track."""
        cos, sin = jnp.cos(yaw), jnp.sin(yaw)
        # Rotated elementwise: a batched 2x2 matmul costs more on CPU.
        ahead, left = self.probe_offsets[:, 0], self.probe_offsets[:, 1]
        probes = jnp.stack(
            [xy[0] + ahead * cos - left * sin, xy[1] + ahead * sin + left * cos], -1
        )
        return self.track.on_track(probes).astype(jnp.float32)

    def _metrics(self, info: dict) -> dict:
        laps = (info["track_angle"] - info["start_angle"]) / (2 * jnp.pi)
        falls = info["falls"].astype(jnp.float32)
        steps = jnp.maximum(info["step_count"], 1).astype(jnp.float32)
        return {
            "falls": falls,
            "laps": laps,
            "falls_per_lap": falls / jnp.maximum(laps, _MIN_LAPS),
            "lateral_error": info["abs_offset_sum"] / steps,
            "success": (falls == 0).astype(jnp.float32),
        }


registry.register("kart_track", KartTrack, KartTrackConfig)
