"""`Network(init, apply)`: flax.nnx modules seen as pure functions.

Everything outside `ilax.networks` sees a network as two pure functions over
a parameter pytree, a plain nested dict of arrays with string keys, so
learners can `jit`, `vmap`, `grad` and checkpoint them without knowing about
nnx. `from_nnx` builds that pair from any nnx module constructor.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
from flax import nnx

from ilax.types import Key, Params


class Network(NamedTuple):
    """A network as pure functions: `init(key) -> params`, `apply(params, *x)`."""

    init: Callable[[Key], Params]
    apply: Callable[..., Any]


def _string_keys(tree: Any) -> Any:
    # nnx names list entries by int; string keys keep every level sortable and
    # survive checkpoint formats that only store string keys.
    if isinstance(tree, dict):
        return {str(name): _string_keys(value) for name, value in tree.items()}
    return tree


def _path_names(path: tuple) -> tuple[str, ...]:
    # The last entry of a parameter leaf's path is the Variable's `value`
    # attribute; the dict keys before it locate the parameter.
    return tuple(
        str(entry.key) for entry in path if isinstance(entry, jax.tree_util.DictKey)
    )


def _lookup(params: Params, names: tuple[str, ...]) -> Any:
    node = params
    for depth, name in enumerate(names):
        if not isinstance(node, dict) or name not in node:
            where = "/".join(names[:depth]) or "<root>"
            found = sorted(node) if isinstance(node, dict) else type(node).__name__
            raise ValueError(
                f"network params: missing entry {name!r} under {where}; found {found}"
            )
        node = node[name]
    return node


def from_nnx(make_module: Callable[[nnx.Rngs], nnx.Module]) -> Network:
    """Wraps an nnx module constructor as a pure `Network`.

    The module's structure is traced once here (`nnx.eval_shape`, no
    computation), so `apply` only merges arrays into a fixed graph: calling it
    with new parameters inside a jitted function does not retrace.

    Args:
      make_module: `rngs -> module`; it must build the same structure for
        every key, and hold no state other than `nnx.Param` variables.

    Returns:
      A `Network` whose `init(key)` (a typed key) returns the module's
      parameters as a nested dict of arrays, and whose `apply(params, *inputs,
      **kwargs)` calls the module on the inputs.

    Raises:
      ValueError: the module holds non-parameter state (batch statistics,
        stored random streams), which a pure `apply` could not carry.
    """
    abstract = nnx.eval_shape(lambda: make_module(nnx.Rngs(0)))
    graphdef, abstract_params, rest = nnx.split(abstract, nnx.Param, ...)
    if jax.tree.leaves(rest):
        kinds = sorted({type(v).__name__ for _, v in nnx.to_flat_state(rest)})
        raise ValueError(
            "from_nnx: the module must hold only nnx.Param variables; it also "
            f"holds {', '.join(kinds)}"
        )
    leaf_paths, param_treedef = jax.tree_util.tree_flatten_with_path(abstract_params)
    names = [_path_names(path) for path, _ in leaf_paths]
    if len(set(names)) != len(names):
        raise ValueError(
            "from_nnx: two parameters share a name once keys are strings: "
            f"{sorted(n for n in names if names.count(n) > 1)}"
        )

    def init(key: Key) -> Params:
        module = make_module(nnx.Rngs(key))
        _, params, _ = nnx.split(module, nnx.Param, ...)
        return _string_keys(nnx.to_pure_dict(params))

    def apply(params: Params, *inputs: Any, **kwargs: Any) -> Any:
        leaves = [_lookup(params, path) for path in names]
        state = jax.tree.unflatten(param_treedef, leaves)
        return nnx.merge(graphdef, state)(*inputs, **kwargs)

    return Network(init=init, apply=apply)
