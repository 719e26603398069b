"""Iterated imitation with the expert in the loop: the core of DAgger and DART.

One iteration, as one pure function: roll out a collection policy (a mixture
of expert and learner for DAgger, the noisy expert for DART) on batched
environments, with the expert's clean action recorded as the label of every
visited state; add those rows to the aggregated buffer; refit; optionally
evaluate the learner alone. The methods differ only in the collection policy
and in what they update after the refit, which they pass in as functions.
"""

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp
from flax import struct

from ilax import config as config_lib
from ilax import metrics as metrics_lib
from ilax.algorithms import aggregate, bc
from ilax.algorithms.bc import BCConfig
from ilax.data import buffer as buffer_lib
from ilax.envs.base import Env
from ilax.rollout import rollout
from ilax.types import Batch, Learner, Metrics, Policy, Trainer, TrainState


@dataclasses.dataclass(kw_only=True)
class InteractiveConfig:
    """Settings shared by every expert-in-the-loop learner."""

    learner: BCConfig = dataclasses.field(default_factory=BCConfig)
    """The learner refitted every iteration."""
    iterations: int = 20
    """Iterations, the first one driven by the expert alone."""
    num_envs: int = 1
    """Environments rolled out in parallel per iteration."""
    steps_per_iteration: int = 215
    """Control steps per environment per iteration (215 = one kart lap)."""
    updates_per_iteration: int = 500
    """Learner updates after each aggregation."""
    batch_size: int = 256
    """Minibatch size of the learner updates."""
    buffer_capacity: int = 0
    """Rows the aggregated buffer keeps; 0 keeps every label of the run."""
    eval_envs: int = 10
    """Environments the learner drives alone after each refit (0: none)."""
    eval_steps: int = 215
    """Control steps of that evaluation."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_fields(
            self,
            positive=(
                "iterations",
                "num_envs",
                "steps_per_iteration",
                "updates_per_iteration",
                "batch_size",
                "eval_steps",
            ),
            non_negative=("buffer_capacity", "eval_envs"),
        )

    @property
    def labels_per_iteration(self) -> int:
        return self.num_envs * self.steps_per_iteration


@struct.dataclass
class InteractiveState:
    """The whole state of a run, enough to continue it bit-identically."""

    train_state: TrainState
    buffer: buffer_lib.Buffer
    iteration: jax.Array  # int32, iterations completed
    noise_std: jax.Array  # [A] float32, DART's collection noise (0 elsewhere)
    key: jax.Array  # typed key of the remaining iterations


# (state, learner policy) -> (collection policy, its metrics). The policy must
# put the expert's clean action in `extras["label"]`.
CollectionFn = Callable[[InteractiveState, Policy], tuple[Policy, Metrics]]
# (state after refit, rows just labelled, key) -> (state, metrics).
AfterRefitFn = Callable[
    [InteractiveState, Batch, jax.Array], tuple[InteractiveState, Metrics]
]


def _prefixed(prefix: str, summary: Metrics) -> Metrics:
    return {f"{prefix}/{name.split('/', 1)[1]}": v for name, v in summary.items()}


def evaluate_learner(
    env: Env,
    learner: Learner,
    train_state: TrainState,
    key: jax.Array,
    *,
    num_envs: int,
    num_steps: int,
) -> Metrics:
    """Episode means of the learner driving alone, keyed `eval/<name>`."""
    _, log = rollout(env, learner.make_policy(train_state), key, num_envs, num_steps)
    return _prefixed("eval", metrics_lib.summarize(log))


def default_learner(config: InteractiveConfig, env: Env) -> Learner:
    """Behavior cloning with `config.learner`, sized for `env`."""
    return bc.make(
        config.learner,
        observation_size=env.observation_size,
        action_size=env.action_size,
    )


def make_trainer(
    config: InteractiveConfig,
    env: Env,
    learner: Learner,
    collection_policy: CollectionFn,
    after_refit: AfterRefitFn | None = None,
) -> Trainer:
    """A `Trainer` whose every step is one iteration of aggregation.

    The learner's train state is first built from one all-zero row (so that
    the run state has its final structure), then replaced after iteration 0
    by `learner.init` on the expert's first labels, so normalization comes
    from real demonstrations. Collection policies must therefore let the
    expert drive alone at iteration 0.
    """
    config.check()
    capacity = config.buffer_capacity or config.iterations * config.labels_per_iteration
    observation_size = env.observation_size
    privileged_size = env.privileged_size
    action_size = env.action_size

    def init(key: jax.Array) -> InteractiveState:
        key_learner, key_run = jax.random.split(key)
        placeholder = Batch(
            obs=jnp.zeros((1, observation_size), jnp.float32),
            privileged=jnp.zeros((1, privileged_size), jnp.float32),
            action=jnp.zeros((1, action_size), jnp.float32),
        )
        return InteractiveState(
            train_state=learner.init(key_learner, placeholder),
            buffer=buffer_lib.create(
                capacity, observation_size, privileged_size, action_size
            ),
            iteration=jnp.zeros((), jnp.int32),
            noise_std=jnp.zeros((action_size,), jnp.float32),
            key=key_run,
        )

    def step(state: InteractiveState, data=None) -> tuple[InteractiveState, Metrics]:
        del data  # the buffer in the state is the data
        # A fresh key is carried on, so no key is used twice across iterations.
        key, key_next = jax.random.split(state.key)
        key_collect, key_init, key_refit, key_after, key_eval = jax.random.split(key, 5)

        policy, metrics = collection_policy(
            state, learner.make_policy(state.train_state)
        )
        trajectory, log = rollout(
            env, policy, key_collect, config.num_envs, config.steps_per_iteration
        )
        rows = buffer_lib.from_trajectory_labels(
            trajectory.obs, trajectory.privileged, trajectory.extras["label"]
        )
        metrics.update(_prefixed("collect", metrics_lib.summarize(log)))

        first = state.iteration == 0
        fresh = learner.init(key_init, rows)
        train_state = jax.tree.map(
            lambda new, old: jnp.where(first, new, old), fresh, state.train_state
        )
        train_state, buffer, refit_metrics = aggregate.aggregate_and_refit(
            learner,
            train_state,
            state.buffer,
            rows,
            key_refit,
            num_updates=config.updates_per_iteration,
            batch_size=config.batch_size,
        )
        metrics.update(refit_metrics)
        state = state.replace(
            train_state=train_state,
            buffer=buffer,
            iteration=state.iteration + 1,
            key=key_next,
        )
        if after_refit is not None:
            state, extra = after_refit(state, rows, key_after)
            metrics.update(extra)
        if config.eval_envs:
            metrics.update(
                evaluate_learner(
                    env,
                    learner,
                    train_state,
                    key_eval,
                    num_envs=config.eval_envs,
                    num_steps=config.eval_steps,
                )
            )
        return state, metrics

    def evaluate(state: InteractiveState, key: jax.Array) -> Metrics:
        return evaluate_learner(
            env,
            learner,
            state.train_state,
            key,
            num_envs=max(config.eval_envs, 1),
            num_steps=config.eval_steps,
        )

    return Trainer(
        init=init,
        step=step,
        evaluate=evaluate,
        data=None,
        num_chunks=config.iterations,
    )


def run(trainer: Trainer, key: jax.Array) -> tuple[InteractiveState, Metrics]:
    """All iterations as one `lax.scan`: metrics are stacked `[iterations]`.

    Pure, so `jax.jit(jax.vmap(functools.partial(run, trainer)))` over split
    keys runs several seeds in one program.
    """
    state = trainer.init(key)
    return jax.lax.scan(
        lambda s, _: trainer.step(s, trainer.data),
        state,
        None,
        length=trainer.num_chunks,
    )
