"""The in-memory demonstration dataset and on-device sampling.

A `Dataset` holds flat, time-major arrays of every step, episode after
episode, plus the episode boundaries. Minibatches of steps and fixed-length
windows (observation histories, action chunks) are drawn on device by pure
functions of a key, so they can run inside `jit` and `scan`.
"""

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from ilax.types import Batch, Trajectory, Window


class DatasetError(ValueError):
    """A dataset is empty, inconsistent, non-finite or unreadable."""


@struct.dataclass
class Dataset:
    """Demonstrations as flat arrays over N steps in E episodes.

    Steps of episode e occupy `episode_start[e]` to `episode_start[e] +
    episode_length[e] - 1`. `final_obs[e]` is the observation after that
    episode's last action, so the successor of every step is known
    (`next_obs`) without storing observations twice.
    """

    obs: jax.Array  # [N, O] float32
    privileged: jax.Array  # [N, P] float32
    action: jax.Array  # [N, A] float32, the label a learner imitates
    executed_action: jax.Array  # [N, A] float32, what the environment executed
    reward: jax.Array  # [N] float32
    terminated: jax.Array  # [N] bool
    truncated: jax.Array  # [N] bool
    episode_index: jax.Array  # [N] int32, the episode each step belongs to
    episode_start: jax.Array  # [E] int32
    episode_length: jax.Array  # [E] int32
    final_obs: jax.Array  # [E, O] float32
    final_privileged: jax.Array  # [E, P] float32

    @property
    def num_steps(self) -> int:
        return self.obs.shape[0]

    @property
    def num_episodes(self) -> int:
        return self.episode_start.shape[0]

    @property
    def observation_size(self) -> int:
        return self.obs.shape[1]

    @property
    def action_size(self) -> int:
        return self.action.shape[1]

    def next_obs(self) -> jax.Array:
        """The successor observation of every step, `[N, O]`."""
        following = jnp.concatenate([self.obs[1:], self.obs[-1:]])
        last = jnp.zeros((self.num_steps,), bool).at[self.episode_end() - 1].set(True)
        return jnp.where(last[:, None], self.final_obs[self.episode_index], following)

    def episode_end(self) -> jax.Array:
        """One past the last step of every episode, `[E]`."""
        return self.episode_start + self.episode_length


_STEP_FIELDS = {
    "obs": (2, np.floating),
    "privileged": (2, np.floating),
    "action": (2, np.floating),
    "executed_action": (2, np.floating),
    "reward": (1, np.floating),
    "terminated": (1, np.bool_),
    "truncated": (1, np.bool_),
    "episode_index": (1, np.integer),
}
_EPISODE_FIELDS = {
    "episode_start": (1, np.integer),
    "episode_length": (1, np.integer),
    "final_obs": (2, np.floating),
    "final_privileged": (2, np.floating),
}


_EPISODE_DTYPES = {
    "obs": np.floating,
    "privileged": np.floating,
    "action": np.floating,
    "executed_action": np.floating,
    "reward": np.floating,
    "terminated": np.bool_,
    "truncated": np.bool_,
}


def validate(dataset: Dataset) -> None:
    """Checks shapes, dtypes, episode boundaries and finiteness.

    Raises:
      DatasetError: naming the field, what was expected and what was found.
    """
    arrays = {name: np.asarray(getattr(dataset, name)) for name in _STEP_FIELDS}
    arrays.update(
        {name: np.asarray(getattr(dataset, name)) for name in _EPISODE_FIELDS}
    )
    num_steps = arrays["obs"].shape[0] if arrays["obs"].ndim else 0
    num_episodes = arrays["episode_start"].shape[0]
    if num_steps == 0 or num_episodes == 0:
        raise DatasetError(
            f"empty dataset: {num_episodes} episodes and {num_steps} steps"
        )
    for fields, size, what in (
        (_STEP_FIELDS, num_steps, "steps"),
        (_EPISODE_FIELDS, num_episodes, "episodes"),
    ):
        for name, (ndim, kind) in fields.items():
            array = arrays[name]
            if array.ndim != ndim or array.shape[0] != size:
                raise DatasetError(
                    f"field {name!r}: expected {ndim}-D with {size} {what} on axis "
                    f"0; got shape {array.shape}"
                )
            if not np.issubdtype(array.dtype, kind):
                raise DatasetError(
                    f"field {name!r}: expected dtype of kind {kind.__name__}; got "
                    f"{array.dtype}"
                )
    for name, like in (
        ("privileged", "final_privileged"),
        ("obs", "final_obs"),
        ("action", "executed_action"),
    ):
        if arrays[name].shape[1] != arrays[like].shape[1]:
            raise DatasetError(
                f"fields {name!r} and {like!r} disagree in width: "
                f"{arrays[name].shape[1]} vs {arrays[like].shape[1]}"
            )
    lengths, starts = arrays["episode_length"], arrays["episode_start"]
    if np.any(lengths < 1):
        bad = int(np.argmax(lengths < 1))
        raise DatasetError(
            f"episode {bad} has length {int(lengths[bad])}; every episode needs "
            f"at least one step"
        )
    expected_starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    if not np.array_equal(starts, expected_starts) or lengths.sum() != num_steps:
        raise DatasetError(
            "episode_start/episode_length do not tile the steps: starts "
            f"{starts[:5]}..., lengths {lengths[:5]}..., {num_steps} steps"
        )
    if not np.array_equal(
        arrays["episode_index"], np.repeat(np.arange(num_episodes), lengths)
    ):
        raise DatasetError("episode_index does not match the episode boundaries")
    for name, array in arrays.items():
        if np.issubdtype(array.dtype, np.floating) and not np.all(np.isfinite(array)):
            bad = np.argwhere(~np.isfinite(array))[0]
            raise DatasetError(
                f"field {name!r} holds {int(np.sum(~np.isfinite(array)))} "
                f"non-finite values; the first at index {tuple(int(i) for i in bad)}"
            )


def _check_episode_shapes(index: int, episode: dict, first: dict, steps: int) -> None:
    """Per-step fields `[T(+1), width]` as wide as the first episode's; `[T]` scalars.

    Raises:
      DatasetError: naming the episode, the field, the expected and the actual
        shape.
    """
    for name in ("obs", "privileged", "action", "executed_action"):
        shape, first_shape = np.shape(episode[name]), np.shape(first[name])
        width = first_shape[-1] if len(first_shape) == 2 else "width"
        if len(shape) != 2 or shape[1] != width:
            raise DatasetError(
                f"episode {index}: field {name!r} expected shape [T, {width}]"
                f"{' (as episode 0)' if index else ''}; got {shape}"
            )
    for name in ("reward", "terminated", "truncated"):
        if np.shape(episode[name]) != (steps,):
            raise DatasetError(
                f"episode {index}: field {name!r} expected shape ({steps},); got "
                f"{np.shape(episode[name])}"
            )


def from_episodes(
    episodes: list[dict[str, np.ndarray]],
) -> Dataset:
    """Builds and validates a dataset from per-episode arrays.

    Each episode dict holds `obs` `[T+1, O]` and `privileged` `[T+1, P]`
    (the last row is the final observation), `action`, `executed_action`
    `[T, A]`, `reward`, `terminated`, `truncated` `[T]`.

    Raises:
      DatasetError: an empty list, a zero-length episode or inconsistent
        shapes, naming the episode.
    """
    if not episodes:
        raise DatasetError("empty dataset: no episodes")
    for index, episode in enumerate(episodes):
        missing = [name for name in _EPISODE_DTYPES if name not in episode]
        if missing:
            raise DatasetError(f"episode {index}: missing field(s) {missing}")
        if np.ndim(episode["action"]) == 0:
            raise DatasetError(
                f"episode {index}: field 'action' expected shape [T, width]; got "
                f"{np.shape(episode['action'])}"
            )
        steps = len(episode["action"])
        if steps == 0:
            raise DatasetError(f"episode {index} has no steps (zero-length episode)")
        for name, kind in _EPISODE_DTYPES.items():
            dtype = np.asarray(episode[name]).dtype
            if not np.issubdtype(dtype, kind):
                raise DatasetError(
                    f"episode {index}: field {name!r} expected dtype of kind "
                    f"{kind.__name__}; got {dtype}"
                )
        _check_episode_shapes(index, episode, episodes[0], steps)
        for name in ("obs", "privileged"):
            if len(episode[name]) != steps + 1:
                raise DatasetError(
                    f"episode {index}: {name!r} needs {steps + 1} rows (one more "
                    f"than actions); got {len(episode[name])}"
                )
    lengths = np.array([len(e["action"]) for e in episodes], np.int32)

    def steps(name, dtype):
        return np.concatenate([np.asarray(e[name]) for e in episodes]).astype(dtype)

    def step_rows(name):
        return np.concatenate([np.asarray(e[name])[:-1] for e in episodes]).astype(
            np.float32
        )

    dataset = Dataset(
        obs=step_rows("obs"),
        privileged=step_rows("privileged"),
        action=steps("action", np.float32),
        executed_action=steps("executed_action", np.float32),
        reward=steps("reward", np.float32),
        terminated=steps("terminated", bool),
        truncated=steps("truncated", bool),
        episode_index=np.repeat(np.arange(len(episodes), dtype=np.int32), lengths),
        episode_start=np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int32),
        episode_length=lengths,
        final_obs=np.stack([np.asarray(e["obs"])[-1] for e in episodes]).astype(
            np.float32
        ),
        final_privileged=np.stack(
            [np.asarray(e["privileged"])[-1] for e in episodes]
        ).astype(np.float32),
    )
    validate(dataset)
    return jax.device_put(dataset)


def episodes(dataset: Dataset) -> list[dict[str, np.ndarray]]:
    """Splits a dataset into per-episode arrays (the inverse of `from_episodes`)."""
    host = jax.device_get(dataset)
    result = []
    for e in range(dataset.num_episodes):
        start = int(host.episode_start[e])
        stop = start + int(host.episode_length[e])
        window = slice(start, stop)
        result.append(
            {
                "obs": np.concatenate([host.obs[window], host.final_obs[e : e + 1]]),
                "privileged": np.concatenate(
                    [host.privileged[window], host.final_privileged[e : e + 1]]
                ),
                "action": host.action[window],
                "executed_action": host.executed_action[window],
                "reward": host.reward[window],
                "terminated": host.terminated[window],
                "truncated": host.truncated[window],
            }
        )
    return result


def from_trajectory(trajectory: Trajectory) -> Dataset:
    """Builds a dataset from a rollout without auto-reset, one episode per env.

    Each environment's episode runs from step 0 to its first `done`; later
    steps are dropped. An environment still running at the last step has that
    step marked truncated. Labels come from `extras["label"]` when the policy
    gave one (noise injection), otherwise from the executed action.
    """
    host = jax.device_get(trajectory)
    terminated, truncated = np.asarray(host.terminated), np.asarray(host.truncated)
    num_steps = terminated.shape[0]
    done = terminated | truncated
    done[-1] = True
    truncated = truncated.copy()
    truncated[-1] |= ~terminated[-1]
    first_done = np.argmax(done, axis=0)  # [B]
    labels = host.extras.get("label", host.action)
    episodes_list = []
    for env_index, last in enumerate(first_done):
        rows = slice(0, int(last) + 1)
        obs = host.obs[rows, env_index]
        privileged = host.privileged[rows, env_index]
        final_obs = host.next_obs[last, env_index][None]
        # The final privileged state is the next step's, unless this was the
        # last step recorded; then the last one seen stands in for it.
        final_privileged = (
            host.privileged[last + 1, env_index][None]
            if last + 1 < num_steps
            else host.privileged[last, env_index][None]
        )
        episodes_list.append(
            {
                "obs": np.concatenate([obs, final_obs]),
                "privileged": np.concatenate([privileged, final_privileged]),
                "action": labels[rows, env_index],
                "executed_action": host.action[rows, env_index],
                "reward": host.reward[rows, env_index],
                "terminated": terminated[rows, env_index],
                "truncated": truncated[rows, env_index],
            }
        )
    return from_episodes(episodes_list)


def sample_batch(dataset: Dataset, key: jax.Array, batch_size: int) -> Batch:
    """Draws `batch_size` steps uniformly, with replacement."""
    index = jax.random.randint(key, (batch_size,), 0, dataset.num_steps)
    return Batch(
        obs=dataset.obs[index],
        privileged=dataset.privileged[index],
        action=dataset.action[index],
    )


def sample_windows(
    dataset: Dataset,
    key: jax.Array,
    batch_size: int,
    obs_horizon: int,
    prediction_horizon: int,
) -> Window:
    """Draws windows around uniformly chosen steps; see `Window` for padding.

    Args:
      dataset: the demonstrations.
      key: typed key.
      batch_size: number of windows B.
      obs_horizon: observations per window To (the step and To - 1 before).
      prediction_horizon: labels per window Tp (the step and Tp - 1 after).

    Raises:
      ValueError: a horizon below 1.
    """
    for name, value in (
        ("obs_horizon", obs_horizon),
        ("prediction_horizon", prediction_horizon),
    ):
        if value < 1:
            raise ValueError(f"sample_windows: {name} must be >= 1; got {value}")
    step = jax.random.randint(key, (batch_size,), 0, dataset.num_steps)
    return windows_at(dataset, step, obs_horizon, prediction_horizon)


def windows_at(
    dataset: Dataset, step: jax.Array, obs_horizon: int, prediction_horizon: int
) -> Window:
    """The windows around the given flat step indices `[B]` (see `Window`)."""
    episode = dataset.episode_index[step]
    first = dataset.episode_start[episode][:, None]
    end = (dataset.episode_start[episode] + dataset.episode_length[episode])[:, None]
    obs_index = jnp.maximum(step[:, None] + jnp.arange(1 - obs_horizon, 1)[None], first)
    action_index = step[:, None] + jnp.arange(prediction_horizon)[None]
    action_mask = action_index < end
    action_index = jnp.minimum(action_index, end - 1)
    return Window(
        obs=dataset.obs[obs_index],
        privileged=dataset.privileged[obs_index],
        action=dataset.action[action_index],
        action_mask=action_mask,
    )
