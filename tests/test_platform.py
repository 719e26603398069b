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


def test_the_cache_folder_is_per_user_movable_and_can_be_turned_off(monkeypatch):
    monkeypatch.delenv(platform.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere/cache")
    assert platform.default_cache_dir() == "/somewhere/cache/ilax/jax"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", "/home/someone")
    assert platform.default_cache_dir() == "/home/someone/.cache/ilax/jax"
    monkeypatch.setenv(platform.CACHE_ENV, "/elsewhere")
    assert platform.default_cache_dir() == "/elsewhere"
    for off in ("off", "", "0", "False"):
        monkeypatch.setenv(platform.CACHE_ENV, off)
        assert platform.default_cache_dir() is None
        assert platform.use_compilation_cache() is None


def test_an_unwritable_cache_is_warned_about_once_and_skipped(tmp_path, caplog):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    before = jax.config.jax_compilation_cache_dir
    for _ in range(2):
        assert platform.use_compilation_cache(str(blocker / "jax")) is None
    assert jax.config.jax_compilation_cache_dir == before
    warnings = [r for r in caplog.records if "is not writable" in r.getMessage()]
    assert len(warnings) == 1
    assert "running without it" in warnings[0].getMessage()


CACHED_PROGRAM = """
import sys
import jax, jax.numpy as jnp
from ilax import platform
assert platform.use_compilation_cache() == sys.argv[1]
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
x = jnp.arange(16.0).reshape(4, 4)
print(float(jax.jit(lambda x: jnp.sin(x) @ x.T)(x).sum()))
"""


def test_a_second_run_reads_the_cache_and_a_corrupt_entry_is_recompiled(tmp_path):
    folder = tmp_path / "cache"
    env = {**os.environ, platform.CACHE_ENV: str(folder), "JAX_PLATFORMS": "cpu"}

    def run():
        result = subprocess.run(
            [sys.executable, "-c", CACHED_PROGRAM, str(folder)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result

    first = run()
    entries = [p for p in folder.iterdir() if p.name.endswith("-cache")]
    assert entries, sorted(p.name for p in folder.iterdir())
    for entry in entries:
        entry.write_bytes(b"not a compiled program")
    again = run()
    assert again.stdout.splitlines()[-1] == first.stdout.splitlines()[-1]
    assert "Error reading persistent compilation cache entry" in again.stderr
