"""cpu_backends times ilax's C engine against Gymnasium's vector env."""

from benchmarks import cpu_backends


def test_a_row_times_both_backends_and_their_ratio():
    settings = cpu_backends.Settings(num_steps=3, rounds=2)
    row = cpu_backends.measure("hopper", 2, ("c", "gymnasium"), settings)
    for backend in ("c", "gymnasium"):
        assert row[f"{backend}_steps_per_s"] > 0
        assert row[f"{backend}_compile_s"] > 0
    assert row["c_over_gymnasium"] > 0
    assert "jax_steps_per_s" not in row and "c_over_jax" not in row
