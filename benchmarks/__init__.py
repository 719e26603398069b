"""Benchmarks of ilax; see each module's docstring."""

from ilax import platform

# Before any benchmark module touches JAX's backend.
platform.use_safe_cpu_flags()
