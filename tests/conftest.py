"""Test-wide JAX settings: CPU, strict rank promotion, key-reuse checks.

`--key_offset=N` adds N to the seed of every `jax.random.key(seed)` the
tests make, so that a learning test's threshold can be checked on other
keys than the one it runs with (`pytest --key_offset=1000 tests/algorithms`).
"""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

# Two test workers share 2 cores: XLA's CPU programs run on one thread each,
# so the workers do not oversubscribe the cores (small test programs gain
# nothing from a second thread; README's Development section has the timing).
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false"
).strip()

from ilax import platform  # noqa: E402

platform.use_safe_cpu_flags()

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")
jax.config.update("jax_debug_key_reuse", True)
# A persistent compilation cache makes repeated local runs fast; CI starts
# empty, so it changes nothing there.
jax.config.update(
    "jax_compilation_cache_dir",
    os.environ.get(
        "ILAX_JAX_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache", "jax")
    ),
)
jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)


@pytest.fixture
def key():
    return jax.random.key(0)


def pytest_addoption(parser):
    parser.addoption(
        "--key_offset",
        type=int,
        default=0,
        help="Add this to every integer seed given to jax.random.key.",
    )


def pytest_configure(config):
    offset = config.getoption("--key_offset")
    if offset:
        make_key = jax.random.key

        def offset_key(seed, *args, **kwargs):
            return make_key(seed + offset, *args, **kwargs)

        jax.random.key = offset_key
