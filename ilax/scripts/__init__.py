"""What every benchmark and experiment script shares: one home for the plumbing.

- `flags`: `RunSettings` (seeds), `define_flags` (the settings dataclass as
  `--settings.<field>` through `config_flags`, `--out_dir`), `parsed`;
- `provenance`: `setup_jax` (quiet logs, the compilation cache),
  `environment_info` and `hardware_line`;
- `results`: `write` (results.json, .md, .tex), `publish` (and BENCHMARKS.md);
- timing lives in `ilax.timing` (compile apart from run, paired rounds).

The scripts themselves (benchmarks/, experiments/) read top to bottom: their
settings, their arms as typed configs, a loop over arms, a table.
"""

from ilax.scripts.flags import RunSettings, check_choices, define_flags, parsed
from ilax.scripts.provenance import (
    environment_info,
    hardware_line,
    provenance_header,
    setup_jax,
)
from ilax.scripts.results import (
    earlier_results,
    publish,
    read,
    to_json,
    update_benchmarks_md,
    write,
)

__all__ = [
    "RunSettings",
    "check_choices",
    "define_flags",
    "earlier_results",
    "environment_info",
    "hardware_line",
    "provenance_header",
    "parsed",
    "publish",
    "read",
    "setup_jax",
    "to_json",
    "update_benchmarks_md",
    "write",
]
