"""Timing jitted programs: compile time apart from run time, paired rounds.

Every figure ilax reports times a program after compiling it ahead of time
(`compile_and_run`), so compilation never hides in a run time, and compares
programs by calling them in alternation round by round (`time_paired`), so
that a slow spell of a shared machine hits every program alike and each
round gives one paired ratio.
"""

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax


class Timed(NamedTuple):
    """A program's result with its compile and run seconds."""

    result: Any
    compile_s: float
    run_s: float


def compile_ahead(fn: Callable, *args: Any) -> tuple[Any, float]:
    """`fn` (a `jax.jit` function) compiled for `args`, and the seconds it took."""
    start = time.perf_counter()
    compiled = fn.lower(*args).compile()
    return compiled, time.perf_counter() - start


def compile_and_run(fn: Callable, *args: Any) -> Timed:
    """Compiles `fn` for `args`, then runs it once to completion."""
    compiled, compile_s = compile_ahead(fn, *args)
    start = time.perf_counter()
    result = jax.block_until_ready(compiled(*args))
    return Timed(result, compile_s, time.perf_counter() - start)


def time_paired(
    programs: dict[str, Callable],
    make_args: Callable[[int], Sequence[Any]] | dict[str, Callable[[int], Sequence]],
    *,
    min_calls: int = 5,
    max_calls: int = 50,
    min_time_s: float = 2.0,
    warm_up: int = 1,
) -> dict[str, dict[str, Any]]:
    """Compiles several jitted programs, then times them in alternation.

    Calls go round by round (A, B, A, B...), alternating the order, so a
    slow spell of a shared or virtual machine hits every program alike, and
    each round gives one paired ratio. Rounds continue until every program
    ran `min_calls` times and the timed calls took `min_time_s` altogether,
    or `max_calls` rounds.

    Args:
      programs: name -> a `jax.jit` function.
      make_args: `i -> arguments` of round i, shared by every program, or a
        dict of one such function per program; round 0 compiles, and
        `warm_up` untimed calls follow with its arguments.
      min_calls: rounds at least.
      max_calls: rounds at most.
      min_time_s: timed seconds at least, all programs together.
      warm_up: untimed calls after compiling.

    Returns:
      Per program: `compile_s`, `run_s` (median), `run_min_s`, `calls`,
      `times` (every timed call's seconds, in round order) and
      `ratio_to_<other>` (median over rounds of this program's speed over
      the other's, i.e. the other's time over this one's).
    """
    if not isinstance(make_args, dict):
        make_args = dict.fromkeys(programs, make_args)
    compiled = {}
    for name, fn in programs.items():
        program, compile_s = compile_ahead(fn, *make_args[name](0))
        for _ in range(warm_up):
            jax.block_until_ready(program(*make_args[name](0)))
        compiled[name] = (program, compile_s)
    times: dict[str, list[float]] = {name: [] for name in programs}
    total = 0.0
    for i in range(max_calls):
        order = list(programs) if i % 2 == 0 else list(reversed(programs))
        for name in order:
            args = make_args[name](i + 1)
            start = time.perf_counter()
            jax.block_until_ready(compiled[name][0](*args))
            elapsed = time.perf_counter() - start
            times[name].append(elapsed)
            total += elapsed
        if i + 1 >= min_calls and total >= min_time_s:
            break
    result = {}
    for name in programs:
        result[name] = {
            "compile_s": compiled[name][1],
            "run_s": statistics.median(times[name]),
            "run_min_s": min(times[name]),
            "calls": len(times[name]),
            "times": times[name],
        }
        for other in programs:
            if other != name:
                result[name][f"ratio_to_{other}"] = paired_ratio(times, other, name)
    return result


def paired_ratio(times: dict[str, list[float]], slow: str, fast: str) -> float:
    """Median over rounds of `slow`'s time over `fast`'s.

    That is how much faster `fast` ran, round by round.
    """
    return statistics.median(
        a / b for a, b in zip(times[slow], times[fast], strict=True)
    )


def policy_step_latency_s(policy, observation, *, steps: int = 64) -> float:
    """Mean seconds of one jitted `policy.step` over `steps` steps, warm.

    The policy runs on the batch of `observation` (leading axes: its batch
    shape) for `steps` consecutive steps with its own state carried, so a
    chunked policy amortizes its predictions as it does in a rollout; the
    first step (compilation) is not counted.
    """
    step = jax.jit(policy.step)
    key_init, key_warm, key = jax.random.split(jax.random.key(0), 3)
    state = policy.init(key_init, observation.obs.shape[:-1])
    jax.block_until_ready(step(state, observation, key_warm))
    start = time.perf_counter()
    for t in range(steps):
        action, state, _ = step(state, observation, jax.random.fold_in(key, t))
    jax.block_until_ready(action)
    return (time.perf_counter() - start) / steps
