"""Process-level settings: the CPU flag workaround and the thread limit."""

import os
import subprocess
import sys

import jax
import pytest

from ilax import platform


def test_flags_are_added_once_and_user_values_win(monkeypatch):
    name = platform.CPU_XLA_FLAGS[0].split("=")[0]
    monkeypatch.setenv("XLA_FLAGS", "--xla_foo=1")
    platform.use_safe_cpu_flags()
    platform.use_safe_cpu_flags()

    flags = os.environ["XLA_FLAGS"].split()
    assert flags[0] == "--xla_foo=1"
    assert sum(f.startswith(name) for f in flags) == 1
    monkeypatch.setenv("XLA_FLAGS", f"{name}=true")
    platform.use_safe_cpu_flags()
    assert os.environ["XLA_FLAGS"] == f"{name}=true"


def test_thread_limit_rejects_counts_outside_the_allowed_cores():
    allowed = platform.cpu_threads()
    for bad in (0, allowed + 1):
        with pytest.raises(
            ValueError, match=rf"cpu_threads: expected 1 to {allowed}.*got {bad}"
        ):
            platform.limit_cpu_threads(bad)


def test_thread_limit_refuses_once_the_backend_has_started():
    jax.devices()  # the test session's backend is up by now anyway
    before = os.sched_getaffinity(0)
    with pytest.raises(RuntimeError, match="already started"):
        platform.limit_cpu_threads(1)
    assert os.sched_getaffinity(0) == before


def test_thread_limit_pins_a_fresh_process_before_jax_starts():
    script = (
        "from ilax import platform; platform.limit_cpu_threads(1); "
        "import jax.numpy as jnp; assert float(jnp.ones(3).sum()) == 3.0; "
        "print(platform.cpu_threads())"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert done.stdout.split()[-1] == "1"


def test_without_cpu_affinity_threads_count_every_core_and_pinning_says_why(
    monkeypatch,
):
    # macOS has neither call; benchmarks still describe the machine.
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    monkeypatch.delattr(os, "sched_setaffinity", raising=False)
    assert platform.cpu_threads() == (os.cpu_count() or 1)
    with pytest.raises(RuntimeError, match="cannot pin a process"):
        platform.limit_cpu_threads(1)
