"""Checked overrides of configuration dataclasses.

Configs are keyword-only dataclasses treated as values. Every override goes
through `replace`, which refuses unknown field names and lists the valid ones.
"""

import dataclasses
from typing import Any, TypeVar

C = TypeVar("C")


def field_names(config: Any) -> list[str]:
    """Names of the fields of a config dataclass (instance or class)."""
    return [f.name for f in dataclasses.fields(config)]


def replace(config: C, **overrides: Any) -> C:
    """Returns a copy of `config` with `overrides` applied.

    Raises:
      ValueError: a name in `overrides` is not a field of the config; the
        message lists the valid field names.
    """
    valid = field_names(config)
    unknown = sorted(set(overrides) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown field(s) {', '.join(map(repr, unknown))} for "
            f"{type(config).__name__}; valid fields: {', '.join(valid)}"
        )
    return dataclasses.replace(config, **overrides)


def check_choice(owner: str, field: str, value: Any, choices: tuple) -> None:
    """Raises ValueError naming `owner.field` if `value` is not in `choices`."""
    if value not in choices:
        raise ValueError(
            f"{owner}.{field} must be one of {', '.join(map(repr, choices))}; "
            f"got {value!r}"
        )


def check_positive(owner: str, field: str, value: Any) -> None:
    """Raises ValueError naming `owner.field` if `value` is not > 0."""
    if not value > 0:
        raise ValueError(f"{owner}.{field} must be > 0; got {value!r}")


def check_non_negative(owner: str, field: str, value: Any) -> None:
    """Raises ValueError naming `owner.field` if `value` is not >= 0."""
    if not value >= 0:
        raise ValueError(f"{owner}.{field} must be >= 0; got {value!r}")


def check_fields(
    config: Any, *, positive: tuple[str, ...] = (), non_negative: tuple[str, ...] = ()
) -> None:
    """Checks the sign of several fields of `config`, naming the first bad one."""
    owner = type(config).__name__
    for field in positive:
        check_positive(owner, field, getattr(config, field))
    for field in non_negative:
        check_non_negative(owner, field, getattr(config, field))
