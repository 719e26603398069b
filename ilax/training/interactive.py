"""Iterated imitation with the expert in the loop: the trainer of DAgger and DART.

A run starts from the expert's own demonstrations: `init` rolls the expert
out alone on batched environments, records its actions as the labels of the
visited states, fits the learner's normalizer on them, builds the learner
and puts the rows into the aggregated buffer. Each round (an iteration) is
then one pure function: refit the learner on everything labelled so far
(aggregate-and-refit, warm-started), evaluate it alone, and collect the next
rows with the method's collection policy (a mixture of expert and learner
for DAgger, the noisy expert for DART), the expert labelling every visited
state. The methods differ only in their `CollectionRule`, which owns its
slot of the run state; `algorithm(name, config_class, make, make_rule)` is
the registry entry of such a method.
"""

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import struct

from ilax import config as config_lib
from ilax import metrics as metrics_lib
from ilax.algorithms import base, registry
from ilax.algorithms.base import LearnerConfig
from ilax.data import buffer as buffer_lib
from ilax.envs.base import Env
from ilax.rollout import rollout
from ilax.training import evaluation, updates
from ilax.types import Batch, Learner, Metrics, Policy, Trainer, TrainState


@dataclasses.dataclass(kw_only=True)
class InteractiveConfig:
    """Settings shared by every expert-in-the-loop method; subclasses add `learner`."""

    learner: LearnerConfig
    """The learner refitted every iteration (each method's config class fixes
    the type)."""
    iterations: int = 20
    """Refits of the learner, each followed by a collection; the first refit
    is on the expert's own demonstrations."""
    num_envs: int = 1
    """Environments rolled out in parallel per collection."""
    steps_per_iteration: int = 0
    """Control steps per environment per collection; 0 means the task's
    episode length (one kart lap is 215)."""
    updates_per_iteration: int = 500
    """Learner updates of each refit."""
    batch_size: int = 256
    """Minibatch size of the learner updates."""
    buffer_capacity: int = 0
    """Rows the aggregated buffer keeps; 0 keeps every label of the run."""
    eval_envs: int = 10
    """Environments the learner drives alone after each refit (0: none)."""
    eval_steps: int = 0
    """Control steps of that evaluation; 0 means the task's episode length."""

    def check(self) -> None:
        """Raises a ValueError naming the first invalid field."""
        config_lib.check_types(self)
        config_lib.check_fields(
            self,
            positive=("iterations", "num_envs", "updates_per_iteration", "batch_size"),
            non_negative=(
                "steps_per_iteration",
                "buffer_capacity",
                "eval_envs",
                "eval_steps",
            ),
        )


@struct.dataclass
class InteractiveState:
    """The whole state of a run, enough to continue it bit-identically."""

    train_state: TrainState
    buffer: buffer_lib.Buffer
    collection: Any  # the collection rule's own state (`CollectionRule.init`)
    iteration: jax.Array  # int32, refits completed
    key: jax.Array  # typed key of the remaining iterations


class CollectionRule(NamedTuple):
    """How a method collects its rows after each refit.

    `init()` is the rule's slot of the run state (`()` when it keeps
    nothing). `policy(rule_state, iteration, learner_policy)` returns the
    policy that collects the rows of `iteration` (1-based: the expert's
    demonstrations are iteration 0) and its metrics; it must put the
    expert's clean action in `extras["label"]`. `after_refit(rule_state,
    train_state, newest_rows, key)`, if given, updates the rule's state from
    the refitted learner and the rows collected last, returning
    `(rule_state, metrics)`.
    """

    init: Callable[[], Any]
    policy: Callable[[Any, jax.Array, Policy], tuple[Policy, Metrics]]
    after_refit: (
        Callable[[Any, TrainState, Batch, jax.Array], tuple[Any, Metrics]] | None
    ) = None


def labelled_rows(trajectory) -> Batch:
    """The visited states of a rollout with the expert's labels, as rows."""
    return buffer_lib.from_trajectory_labels(
        trajectory.obs, trajectory.privileged, trajectory.extras["label"]
    )


def expert_labels(expert: Policy) -> Policy:
    """`expert`, recording its own action as the label of every state."""

    def step(state, observation, key):
        action, state, extras = expert.step(state, observation, key)
        return action, state, {**extras, "label": action}

    return Policy(init=expert.init, step=step)


def build_learner(config: InteractiveConfig, env: Env, make) -> Learner:
    """The learner a run of `config` refits: `make(config.learner)` sized for `env`."""
    return make(
        config.learner,
        observation_size=base.input_size(config.learner, env),
        action_size=env.action_size,
    )


def make_trainer(
    config: InteractiveConfig,
    env: Env,
    expert: Policy,
    learner: Learner,
    rule: CollectionRule,
) -> Trainer:
    """A `Trainer` whose every round is one iteration: refit, evaluate, collect.

    Args:
      config: the settings.
      env: the task (unbatched, as from `ilax.envs.make`).
      expert: queried at every visited state.
      learner: refitted on the aggregated rows (its `observation_size` is
        the width of the field it reads).
      rule: the method's collection rule.
    """
    config.check()
    steps = config.steps_per_iteration or env.max_steps
    eval_steps = config.eval_steps or env.max_steps
    per_iteration = config.num_envs * steps
    capacity = config.buffer_capacity or (config.iterations + 1) * per_iteration

    def collect(policy: Policy, key: jax.Array, prefix: str):
        trajectory, log = rollout(env, policy, key, config.num_envs, steps)
        return labelled_rows(trajectory), metrics_lib.summarize(log, prefix=prefix)

    def init(key: jax.Array) -> InteractiveState:
        key_collect, key_learner, key_run = jax.random.split(key, 3)
        rows, _ = collect(expert_labels(expert), key_collect, "demos")
        buffer = buffer_lib.create(
            capacity, env.observation_size, env.privileged_size, env.action_size
        )
        return InteractiveState(
            train_state=learner.init(key_learner, learner.fit_normalizer(rows)),
            buffer=buffer_lib.add(buffer, rows),
            collection=rule.init(),
            iteration=jnp.zeros((), jnp.int32),
            key=key_run,
        )

    def step(state: InteractiveState, data=None) -> tuple[InteractiveState, Metrics]:
        del data  # the buffer in the state is the data
        # A fresh key is carried on, so no key is used twice across iterations.
        key, key_next = jax.random.split(state.key)
        key_refit, key_after, key_eval, key_collect = jax.random.split(key, 4)
        train_state, metrics = updates.scan_updates(
            learner.update,
            state.train_state,
            lambda key: buffer_lib.sample(state.buffer, key, config.batch_size),
            key_refit,
            config.updates_per_iteration,
        )
        metrics = updates.summarize(metrics)
        metrics["labels/total"] = state.buffer.total_added.astype(jnp.float32)
        collection = state.collection
        if rule.after_refit is not None:
            newest = buffer_lib.newest(state.buffer, per_iteration)
            collection, extra = rule.after_refit(
                collection, train_state, newest, key_after
            )
            metrics.update(extra)
        if config.eval_envs:
            metrics.update(
                evaluation.evaluate(
                    env,
                    learner.make_policy(train_state),
                    key_eval,
                    num_envs=config.eval_envs,
                    num_steps=eval_steps,
                )
            )
        policy, extra = rule.policy(
            collection, state.iteration + 1, learner.make_policy(train_state)
        )
        metrics.update(extra)
        rows, collected = collect(policy, key_collect, "collect")
        metrics.update(collected)
        state = InteractiveState(
            train_state=train_state,
            buffer=buffer_lib.add(state.buffer, rows),
            collection=collection,
            iteration=state.iteration + 1,
            key=key_next,
        )
        return state, metrics

    def policy(state: InteractiveState) -> Policy:
        return learner.make_policy(state.train_state)

    return Trainer(
        init=init,
        step=step,
        evaluate=evaluation.evaluator(
            env, policy, num_envs=max(config.eval_envs, 1), num_steps=eval_steps
        ),
        policy=policy,
        data=None,
        num_rounds=config.iterations,
    )


def algorithm(
    name: str,
    config_class: type[InteractiveConfig],
    make,
    make_rule: Callable[[Any, Policy, Learner, Env], CollectionRule],
    loss_metric: str,
) -> registry.Algorithm:
    """The registry entry of an expert-in-the-loop method.

    Args:
      name: the algorithm's name.
      config_class: its config class.
      make: the learner module's `make` (refitted on `config.learner`).
      make_rule: `(config, expert, learner, env) -> CollectionRule`.
      loss_metric: the learner's training loss among its update metrics.
    """

    def make_method_trainer(config, env, expert):
        config.check()
        learner = build_learner(config, env, make)
        rule = make_rule(config, expert, learner, env)
        return make_trainer(config, env, expert, learner, rule)

    return registry.Algorithm(
        name=name,
        config_class=config_class,
        make_trainer=make_method_trainer,
        make_learner=lambda config, env: build_learner(config, env, make),
        loss_metric=loss_metric,
    )
