"""The hardware line of result tables names a thread limit, and only then."""

from ilax.scripts import provenance as common

_CPU = {
    "backend": "cpu",
    "cpu": "AMD EPYC",
    "cpu_count": 2,
    "versions": {"jax": "0.10.2"},
}


def test_a_thread_limit_is_named_and_the_default_is_not():
    assert common.hardware_line({**_CPU, "cpu_threads": 2}) == (
        "CPU: AMD EPYC (2 cores), jax 0.10.2"
    )
    # Results written before the field existed read as unpinned.
    assert common.hardware_line(_CPU) == common.hardware_line(
        {**_CPU, "cpu_threads": 2}
    )
    assert common.hardware_line({**_CPU, "cpu_threads": 1}) == (
        "CPU: AMD EPYC (2 cores, XLA on 1 of them), jax 0.10.2"
    )
