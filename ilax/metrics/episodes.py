"""Episode results: jittable means, per-episode values, pooled rates."""

import jax
import jax.numpy as jnp
import numpy as np

from ilax.types import EpisodeLog


def summarize(log: EpisodeLog, prefix: str = "episode") -> dict[str, jax.Array]:
    """Means over the episodes that ended, keyed `<prefix>/<name>`.

    `<prefix>/num_episodes` is the number of episodes; the means are NaN if
    it is 0. Task metrics appear under their own names (`episode/success`).
    Jittable.
    """
    done = log.done.astype(jnp.float32)
    count = done.sum()

    def mean(values):
        return jnp.sum(values * done) / count

    summary = {
        f"{prefix}/num_episodes": count,
        f"{prefix}/return": mean(log.episode_return),
        f"{prefix}/length": mean(log.length.astype(jnp.float32)),
    }
    for name, values in log.metrics.items():
        if f"{prefix}/{name}" in summary:
            raise ValueError(
                f"summarize: task metric {name!r} collides with a summary key; "
                f"rename the metric"
            )
        summary[f"{prefix}/{name}"] = mean(values)
    return summary


def first_episode(log: EpisodeLog) -> dict[str, jax.Array]:
    """Per environment, `[B]`: how its first episode ended (jittable).

    For a log of a rollout without auto-reset, which logs only each
    environment's first ending: `ended` (1.0 if the episode ended within the
    rollout), its `return`, `length` and every task metric at its last step;
    0 where it did not end.
    """
    done = log.done.astype(jnp.float32)

    def at_end(values):
        return jnp.sum(done * values, axis=0)

    values = {
        "ended": jnp.sum(done, axis=0),
        "return": at_end(log.episode_return),
        "length": at_end(log.length.astype(jnp.float32)),
    }
    return {**values, **{name: at_end(v) for name, v in log.metrics.items()}}


def episode_values(log: EpisodeLog) -> dict[str, np.ndarray]:
    """Per-episode arrays (host side): `return`, `length` and every metric.

    Episodes are ordered by the step they ended, then by environment.
    """
    host = jax.device_get(log)
    done = np.asarray(host.done)
    values = {
        "return": np.asarray(host.episode_return)[done],
        "length": np.asarray(host.length)[done],
    }
    for name, array in host.metrics.items():
        values[name] = np.asarray(array)[done]
    return values


def pooled_rate(numerator: np.ndarray, denominator: np.ndarray) -> float:
    """Sum of `numerator` over sum of `denominator` (host side).

    Pools events over episodes before dividing (falls per lap = total falls /
    total laps over one seed's finished episodes), so short episodes do not
    weigh as much as long ones, as they would in a mean of per-episode ratios.

    Returns:
      The rate; inf when the denominator sums to 0 and the numerator does not,
      NaN when both do.

    Raises:
      ValueError: the inputs are empty, not 1-D or of different lengths.
    """
    numerator = np.asarray(numerator, np.float64)
    denominator = np.asarray(denominator, np.float64)
    if (
        numerator.ndim != 1
        or numerator.size == 0
        or (numerator.shape != denominator.shape)
    ):
        raise ValueError(
            f"pooled_rate: numerator and denominator must be non-empty 1-D arrays "
            f"of one shape; got {numerator.shape} and {denominator.shape}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(numerator.sum() / denominator.sum())
