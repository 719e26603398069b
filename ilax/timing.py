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
    make_args: Callable[[int], Sequence[Any]],
    *,
    min_calls: int = 5,
    max_calls: int = 50,
    min_time_s: float = 2.0,
) -> dict[str, dict[str, float]]:
    """Compiles several jitted programs, then times them in alternation.

    Calls go round by round (A, B, A, B...), alternating the order, so a
    slow spell of a shared or virtual machine hits every program alike, and
    each round gives one paired ratio. Rounds continue until every program
    ran `min_calls` times and the timed calls took `min_time_s` altogether,
    or `max_calls` rounds. `make_args(i)` gives the arguments of round i
    (round 0 compiles and warms up).

    Returns:
      Per program: `compile_s`, `run_s` (median), `run_min_s`, `calls`, and
      `ratio_to_<other>` (median over rounds of this program's speed over
      the other's, i.e. the other's time over this one's).
    """
    compiled = {}
    for name, fn in programs.items():
        program, compile_s = compile_ahead(fn, *make_args(0))
        jax.block_until_ready(program(*make_args(0)))
        compiled[name] = (program, compile_s)
    times: dict[str, list[float]] = {name: [] for name in programs}
    total = 0.0
    for i in range(max_calls):
        args = make_args(i + 1)
        order = list(programs) if i % 2 == 0 else list(reversed(programs))
        for name in order:
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
        }
        for other in programs:
            if other != name:
                ratios = [b / a for a, b in zip(times[name], times[other], strict=True)]
                result[name][f"ratio_to_{other}"] = statistics.median(ratios)
    return result
