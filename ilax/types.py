"""Records and function tuples shared by every part of ilax.

Records are NamedTuples of arrays; behaviours are NamedTuples of pure functions
(the optax style), so callers can `jit`, `vmap` and `scan` them as they like.
"""

from collections.abc import Callable
from typing import Any, NamedTuple, Protocol

import jax

Array = jax.Array
Key = jax.Array  # a typed key from `jax.random.key`
Params = Any  # a pytree of arrays
PolicyState = Any  # a pytree whose leaves lead with the policy's batch shape
Metrics = dict[str, jax.Array]  # flat, with `family/name` keys


class Observation(NamedTuple):
    """What a policy is shown at one step.

    Students read `obs`; teachers and experts may read `privileged`.
    """

    obs: Array  # [..., observation_size]
    privileged: Array  # [..., privileged_size]


class Policy(NamedTuple):
    """A (possibly stateful) policy over a batch of environments.

    `init(key, batch_shape)` returns the policy state of `batch_shape` fresh
    episodes (action queues, histories, an expert's plan; `()` when stateless).
    `step(policy_state, observation, key)` takes an `Observation` whose arrays
    lead with that batch shape and returns `(action, policy_state, extras)`,
    where `extras` is a dict of arrays (for example the clean `label` of a
    noise-injected action).
    """

    init: Callable[[Key, tuple[int, ...]], PolicyState]
    step: Callable[[PolicyState, Observation, Key], tuple[Array, PolicyState, dict]]


class Trajectory(NamedTuple):
    """A time-major batch of transitions, `[T, B, ...]`.

    `next_obs` is the observation each step produced, taken before any
    auto-reset: on a step where the episode ended it is the episode's final
    observation, elsewhere it equals the next step's `obs`.
    """

    obs: Array  # [T, B, O]
    privileged: Array  # [T, B, P]
    action: Array  # [T, B, A] the action the environment executed
    reward: Array  # [T, B]
    terminated: Array  # [T, B] bool, the task ended the episode
    truncated: Array  # [T, B] bool, time limit or a non-finite state ended it
    next_obs: Array  # [T, B, O]
    extras: dict  # policy extras, each [T, B, ...]


class EpisodeLog(NamedTuple):
    """Per-step records of finished episodes, `[T, B]`.

    Where `done` is true, the other fields describe the episode that ended at
    that step: its undiscounted return, its length and the task's metrics as
    they stood at its last step.
    """

    done: Array  # [T, B] bool, an episode ended at this step
    episode_return: Array  # [T, B]
    length: Array  # [T, B] int32
    metrics: Metrics  # each [T, B]


class Batch(NamedTuple):
    """A minibatch of single steps for training, `[B, ...]`.

    Rows may be flattened windows (`ilax.chunking.flatten_window`): `action`
    is then a chunk of Tp labels and `action_mask` marks the labels that lie
    inside the episode; learners that weigh chunk steps (ACT) read it, the
    others ignore it. It is None for single steps.
    """

    obs: Array  # [B, O]
    privileged: Array  # [B, P]
    action: Array  # [B, A] the expert's label
    action_mask: Array | None = None  # [B, Tp] bool, flattened windows only


class Window(NamedTuple):
    """A minibatch of fixed-length windows: observation histories and chunks.

    For a sampled step t of an episode, `obs[:, i]` is the observation at
    t - obs_horizon + 1 + i and `action[:, j]` the label at t + j. Indices
    before the episode's first step repeat its first observation; indices past
    its last step repeat its last action and are marked False in
    `action_mask`, so a window never mixes two episodes.
    """

    obs: Array  # [B, To, O]
    privileged: Array  # [B, To, P]
    action: Array  # [B, Tp, A]
    action_mask: Array  # [B, Tp] bool, the label lies inside the episode


TrainState = Any  # a flax.struct.dataclass; see `ilax.algorithms.base.TrainState`
Normalizer = Any  # `ilax.data.normalizer.Normalizer`: feature means and stds


class Learner(NamedTuple):
    """A learner as four pure functions (the optax style).

    `fit_normalizer(data)` checks the training data (a flat `Batch`: shapes,
    finiteness) and returns the `Normalizer` the learner's config asks for,
    fitted on the field it reads; call it once, on all of the training data
    (or a representative part). `init(key, normalizer)` builds the train
    state around that normalizer. `update(train_state, batch, key)` takes one
    optimization step on a minibatch and returns `(train_state, metrics)`.
    `make_policy(train_state)` returns the learner's `Policy`, reading
    `observation.obs` (or `observation.privileged` for a privileged learner).

    Every learner trains on flat rows: an observation history is flattened
    into `obs` `[B, To * O]` and an action chunk into `action` `[B, Tp * A]`
    (`ilax.chunking.flatten_window`); `ilax.chunking.chunked` turns the
    policy back into one that keeps the history and executes the chunks.
    """

    fit_normalizer: Callable[[Batch], Normalizer]
    init: Callable[[Key, Normalizer], TrainState]
    update: Callable[[TrainState, Batch, Key], tuple[TrainState, Metrics]]
    make_policy: Callable[[TrainState], Policy]


class PolicyLearner(NamedTuple):
    """A reinforcement learner: improves its policy from its own trajectories.

    Where a `Learner` regresses labels, a policy learner (PPO, TRPO) learns
    from the rewards of what it did. `init(key)` builds the train state (its
    running input statistics start as the identity). `make_behaviour(state)`
    is the exploring policy that collects the data; its extras carry what
    `update` reads back (the Gaussian sample and its log-probability).
    `update(state, trajectory, key)` takes one whole policy step on a
    time-major `Trajectory` `[T, B]` collected by that policy, whose
    `reward` may have been replaced (GAIL's discriminator reward), and
    returns `(state, metrics)`. `make_policy(state)` is the learned policy as
    it is evaluated and deployed: deterministic, the Gaussian's mean.
    `log_prob(state, obs, action)` is the log-density the behaviour policy
    gives executed actions `[..., A]` at raw observations `[..., O]`, `[...]`
    (AIRL's discriminator scores expert actions with it).
    """

    init: Callable[[Key], TrainState]
    update: Callable[[TrainState, Trajectory, Key], tuple[TrainState, Metrics]]
    make_behaviour: Callable[[TrainState], Policy]
    make_policy: Callable[[TrainState], Policy]
    log_prob: Callable[[TrainState, Array, Array], Array]


class LearnerFactory(Protocol):
    """How every learner module's `make` is called.

    `make(config, observation_size=..., action_size=..., horizon=...)`:
    `config` is the learner's own settings, read once here;
    `observation_size` the width of the field it reads (`obs` or
    `privileged`, per `config.input`; To * O for a flattened history);
    `action_size` the width of one action; `horizon` the actions per
    prediction, the labels being `[horizon * action_size]` flattened chunks.
    It returns the `Learner` and raises ValueError naming any invalid config
    field or size.
    """

    def __call__(
        self, config: Any, *, observation_size: int, action_size: int, horizon: int = 1
    ) -> Learner: ...


class Trainer(NamedTuple):
    """What the training loops drive: one run of one seed, round by round.

    `init(key)` returns the run state, a pytree of arrays holding everything
    needed to continue bit-identically (train state, buffers, keys).
    `step(run_state, data)` advances the run by one round (a number of
    updates, or one DAgger iteration) and returns `(run_state, metrics)`;
    `data` is the `data` field below, passed as an argument so that large
    datasets are not baked into the compiled program. `policy(run_state)` is
    the learner's policy as it acts in the environment (chunked where the
    learner predicts chunks), and `evaluate(run_state, key)` rolls it out
    alone on batched environments and returns `eval/<name>` episode means.
    All are pure, so the loops can `jit` them and `vmap` them over seeds.
    `num_rounds` is the length of a full run.
    """

    init: Callable[[Key], Any]
    step: Callable[[Any, Any], tuple[Any, Metrics]]
    evaluate: Callable[[Any, Key], Metrics]
    policy: Callable[[Any], Policy]
    data: Any
    num_rounds: int
