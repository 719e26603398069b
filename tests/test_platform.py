"""The CPU flag workaround keeps flags the user already set."""

from ilax import platform


def test_flags_are_added_once_and_user_values_win(monkeypatch):
    name = platform.CPU_XLA_FLAGS[0].split("=")[0]
    monkeypatch.setenv("XLA_FLAGS", "--xla_foo=1")
    platform.use_safe_cpu_flags()
    platform.use_safe_cpu_flags()
    import os

    flags = os.environ["XLA_FLAGS"].split()
    assert flags[0] == "--xla_foo=1"
    assert sum(f.startswith(name) for f in flags) == 1
    monkeypatch.setenv("XLA_FLAGS", f"{name}=true")
    platform.use_safe_cpu_flags()
    assert os.environ["XLA_FLAGS"] == f"{name}=true"
