"""Checked overrides of configuration dataclasses.

Configs are keyword-only dataclasses treated as values. Every override goes
through `replace`, which refuses unknown field names and lists the valid ones;
`check_types` compares every field with its annotation, so a value of the
wrong type is refused naming its field before any check compares it.
"""

import dataclasses
import math
import numbers
import types
import typing
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


def _matches(value: Any, hint: Any) -> bool:
    """Whether `value` is of the annotated type (integers count as reals)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(item, args[0]) for item in value)
        return len(args) == len(value) and all(map(_matches, value, args))
    if hint is type(None):
        return value is None
    if hint is float:  # numpy scalars too; no config means inf or NaN
        real = isinstance(value, numbers.Real) and not isinstance(value, bool)
        return real and math.isfinite(value)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # an annotation this check does not read


def check_types(config: Any, path: str | None = None) -> None:
    """Raises ValueError naming the first field whose value is not of its type.

    A float field must be finite. Nested config dataclasses must be of their
    annotated class and are checked too, their fields named by path
    (`BCTrainConfig.learner.learning_rate`).
    """
    path = path or type(config).__name__
    hints = typing.get_type_hints(type(config))
    for field in dataclasses.fields(config):
        value, hint = getattr(config, field.name), hints[field.name]
        nested = dataclasses.is_dataclass(value) and not isinstance(value, type)
        if not _matches(value, hint):
            shown = hint.__name__ if type(hint) is type else str(hint)
            wanted = "a finite float" if hint is float else f"of type {shown}"
            raise ValueError(
                f"{path}.{field.name} must be {wanted}; got {value!r} "
                f"({type(value).__name__})"
            )
        if nested:
            check_types(value, f"{path}.{field.name}")


def from_dict(cls: type, values: dict[str, Any]) -> Any:
    """Rebuilds a (nested) config dataclass from its JSON form."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for field in dataclasses.fields(cls):
        if field.name not in values:
            continue
        value, hint = values[field.name], hints[field.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value)
        elif typing.get_origin(hint) is tuple and isinstance(value, list):
            value = tuple(value)
        kwargs[field.name] = value
    return cls(**kwargs)
