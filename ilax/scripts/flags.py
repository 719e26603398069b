"""The command line every benchmark and experiment shares.

A script keeps its settings in one keyword-only dataclass that derives from
`RunSettings` (the seeds), and calls `define_flags(name, Settings())` under
`__main__` (never at import: scripts share flag names, and tests import
several into one process). That defines

- `--settings.<field>=<value>` for every field, through ml_collections'
  `config_flags` (`--settings.seeds=5`, `--settings.demos=10,25,50`); an
  unknown field is an error that lists the valid ones;
- `--out_dir`, the results folder (`results/<name>` by default; for a
  benchmark `results/<name>_<backend>`);
- for a benchmark, `--benchmarks_md` (rewrite its section of BENCHMARKS.md).

`parsed()` then returns the settings and the folder.
"""

import dataclasses
import pathlib
import sys
import typing
from typing import Any, NamedTuple

from absl import flags
from ml_collections import config_flags

FLAGS = flags.FLAGS


@dataclasses.dataclass(kw_only=True)
class RunSettings:
    """The settings every script has; each script's Settings adds its own."""

    seeds: int = 3
    """Seeds per arm, run side by side (vmapped in one program)."""
    seed: int = 0
    """Seed of the run's keys (data, training, evaluation)."""


class Parsed(NamedTuple):
    """What the command line said."""

    settings: Any  # the script's Settings, overrides applied
    out_dir: pathlib.Path | None  # None: the benchmark's default folder
    benchmarks_md: bool  # rewrite BENCHMARKS.md (benchmarks only)


def check_overrides(settings: Any, argv: list[str], prefix: str = "settings") -> None:
    """Raises SystemExit, naming the field, for an override of no field.

    `config_flags` refuses those too, but with a traceback; this is the
    one-line version, run before parsing.
    """
    for arg in argv:
        if not arg.startswith(f"--{prefix}."):
            continue
        path = arg[len(prefix) + 3 :].split("=", 1)[0].split(".")
        holder = settings
        for depth, name in enumerate(path):
            names = [field.name for field in dataclasses.fields(holder)]
            if name not in names:
                owner = ".".join([prefix, *path[:depth]])
                raise SystemExit(
                    f"error: unknown override --{prefix}.{'.'.join(path)}: "
                    f"{owner} has no field {name!r}; its fields: {', '.join(names)}"
                )
            holder = getattr(holder, name)
            if not dataclasses.is_dataclass(holder):
                break


def define_flags(
    name: str, settings: Any, *, benchmark: bool = False, argv: list[str] | None = None
) -> None:
    """Defines the script's flags (see the module docstring).

    Args:
      name: the script's name, the default results folder's.
      settings: the default settings (a `RunSettings` subclass instance).
      benchmark: also `--benchmarks_md`; the default folder carries the backend.
      argv: the command line to check for unknown overrides (`sys.argv`).
    """
    check_overrides(settings, sys.argv if argv is None else argv)
    config_flags.DEFINE_config_dataclass(
        "settings", settings, f"{type(settings).__name__} of {name}."
    )
    default = None if benchmark else str(pathlib.Path("results") / name)
    flags.DEFINE_string(
        "out_dir",
        default,
        "Results folder"
        + (" (default results/<name>_<backend>)." if benchmark else "."),
    )
    if benchmark:
        flags.DEFINE_bool("benchmarks_md", True, "Rewrite BENCHMARKS.md's section.")


def _normalized(settings: Any) -> Any:
    """Comma lists and empty values read as tuples (`a,b` and `` for str fields)."""
    changes = {}
    for field_name, hint in typing.get_type_hints(type(settings)).items():
        value = getattr(settings, field_name)
        if typing.get_origin(hint) is tuple and isinstance(value, tuple):
            items = []
            for item in value:
                items += item.split(",") if isinstance(item, str) else [item]
            changes[field_name] = tuple(item for item in items if item != "")
    return dataclasses.replace(settings, **changes)


def check_choices(settings: Any, field: str, choices) -> None:
    """Raises SystemExit, in one line, for a value of a tuple field not in `choices`.

    Scripts call it first thing, so a typo stops the run before any arm
    trains.
    """
    values = getattr(settings, field)
    unknown = [value for value in values if value not in choices]
    if unknown:
        raise SystemExit(
            f"error: --settings.{field}: unknown {', '.join(map(repr, unknown))}; "
            f"choose from {', '.join(map(repr, choices))}"
        )


def parsed() -> Parsed:
    """The settings and folder of the command line, once absl has parsed it."""
    out_dir = FLAGS.out_dir
    return Parsed(
        settings=_normalized(FLAGS.settings),
        out_dir=None if out_dir is None else pathlib.Path(out_dir),
        benchmarks_md=bool(FLAGS["benchmarks_md"].value)
        if "benchmarks_md" in FLAGS
        else False,
    )
