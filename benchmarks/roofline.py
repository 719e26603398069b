"""Roofline tools: FLOPs and bytes of a jitted program, and this machine's peaks.

XLA's cost analysis counts a loop body once whatever its trip count, so
`cost_per_action` adds the missing iterations of every `lax.scan` (a
diffusion sampler is one); `machine_peaks` measures the matmul rate and
memory bandwidth the bound is taken against, in the same run.
"""

import time

import jax
import jax.extend as jex
import jax.numpy as jnp


def _xla_cost(fn, args) -> dict[str, float]:
    cost = jax.jit(fn).lower(*args).compile().cost_analysis()
    cost = cost[0] if isinstance(cost, list | tuple) else cost  # older jaxlibs
    return {"flops": cost.get("flops", 0.0), "bytes": cost.get("bytes accessed", 0.0)}


def _loop_correction(jaxpr) -> dict[str, float]:
    """What XLA's cost analysis leaves out of the loops in `jaxpr`.

    XLA counts a while loop's body once, whatever its trip count (checked:
    a 100-step and a 10-step `lax.scan` of the same matmul report the same
    flops), so a DDPM-100 sampler would cost as much as DDIM-10. Each scan
    of known length L adds L times its body's full cost, less the copies
    XLA already counted; nested scans recurse. The body's bytes include its
    reads of loop-invariant inputs (the weights) in every iteration: an
    upper bound on memory traffic when they stay in cache.
    """
    extra = {"flops": 0.0, "bytes": 0.0}
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "scan":
            body = eqn.params["jaxpr"]
            length = eqn.params["length"]
            unroll = eqn.params.get("unroll", 1)
            counted = length if unroll is True else max(1, min(int(unroll), length))
            args = [
                jax.ShapeDtypeStruct(v.aval.shape, v.aval.dtype)
                for v in body.jaxpr.invars
            ]
            once = _xla_cost(jex.core.jaxpr_as_fun(body), args)
            inner = _loop_correction(body.jaxpr)
            for field in extra:
                full = once[field] / counted + inner[field]  # one true iteration
                extra[field] += length * full - once[field]
        else:
            for sub in jex.core.jaxprs_in_params(eqn.params):
                inner = _loop_correction(sub)
                for field in extra:
                    extra[field] += inner[field]
    return extra


def cost_per_action(program, args, batch: int) -> dict[str, float]:
    """FLOPs and bytes accessed per action, from XLA with loops counted fully."""
    compiled = program.lower(*args).compile().cost_analysis()
    compiled = compiled[0] if isinstance(compiled, list | tuple) else compiled
    correction = _loop_correction(jax.make_jaxpr(program)(*args).jaxpr)
    return {
        "flops": (compiled.get("flops", 0.0) + correction["flops"]) / batch,
        "bytes": (compiled.get("bytes accessed", 0.0) + correction["bytes"]) / batch,
        "xla_flops_loops_once": compiled.get("flops", 0.0) / batch,
    }


def machine_peaks(size: int = 2048, elements: int = 1 << 25) -> dict[str, float]:
    """Measured float32 matmul rate (FLOP/s) and memory bandwidth (bytes/s).

    Bandwidth is the better of an in-place `x + 1` (one read and one write
    per element; a fresh output would time the page faults of new memory)
    and a sum (one read), over a 128 MiB array, far past any cache. Each is
    the best of ten calls: the machine's capability, not its noise.
    """
    a = jax.random.normal(jax.random.key(10), (size, size))
    b = jax.random.normal(jax.random.key(11), (size, size))
    matmul = jax.jit(jnp.matmul)
    add_in_place = jax.jit(lambda x: x + 1.0, donate_argnums=0)
    total = jax.jit(jnp.sum)
    x = jnp.zeros((elements,), jnp.float32)
    best = {"matmul": [], "add": [], "sum": []}
    jax.block_until_ready((matmul(a, b), total(x)))
    x = jax.block_until_ready(add_in_place(x))
    for _ in range(10):
        for name in best:
            start = time.perf_counter()
            if name == "add":
                x = jax.block_until_ready(add_in_place(x))
            else:
                jax.block_until_ready(matmul(a, b) if name == "matmul" else total(x))
            best[name].append(time.perf_counter() - start)
    add_rate = 2.0 * 4 * elements / min(best["add"])
    sum_rate = 4.0 * elements / min(best["sum"])
    return {
        "matmul_flop_per_s": 2.0 * size**3 / min(best["matmul"]),
        "bandwidth_bytes_per_s": max(add_rate, sum_rate),
        "in_place_add_bytes_per_s": add_rate,
        "sum_bytes_per_s": sum_rate,
        "matmul_size": size,
        "copy_elements": elements,
    }


def add_roofline(rows: dict[str, dict], peaks: dict[str, float]) -> None:
    """Adds each family's roofline bound at batch and the fraction reached."""
    for row in rows.values():
        by_compute = peaks["matmul_flop_per_s"] / max(row["batch_flops_per_action"], 1)
        by_memory = peaks["bandwidth_bytes_per_s"] / max(
            row["batch_bytes_per_action"], 1
        )
        row["roofline_actions_per_s"] = min(by_compute, by_memory)
        row["roofline_bound_by"] = "compute" if by_compute <= by_memory else "memory"
        row["roofline_fraction"] = row["actions_per_s"] / row["roofline_actions_per_s"]
