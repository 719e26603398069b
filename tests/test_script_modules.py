"""Every benchmark and experiment module imports into one process.

Tests import several of these modules under one pytest worker; a module that
defined absl flags at import would clash with another that uses the same
name (`out_dir`, `settings`). Scripts define their flags with
`ilax.scripts.define_flags`, called only under `__main__`.
"""

import importlib.util
import pathlib
import subprocess
import sys

import pytest

_ROOT = pathlib.Path(__file__).resolve().parent.parent
_FILES = sorted(
    path
    for folder in ("benchmarks", "experiments")
    for path in (_ROOT / folder).glob("*.py")
    if path.stem != "__init__"
)
# Modules of an optional peer library, imported only where it is installed
# (its own environment: see the README's peer comparison).
_OPTIONAL = {"benchmarks.imitation_peer": "imitation"}
_MODULES = [
    name
    for name in (f"{path.parent.name}.{path.stem}" for path in _FILES)
    if name not in _OPTIONAL or importlib.util.find_spec(_OPTIONAL[name])
]
_SCRIPTS = [path for path in _FILES if 'if __name__ == "__main__":' in path.read_text()]


def test_modules_found():
    assert "benchmarks.env_throughput" in _MODULES
    assert "experiments.act_chunking" in _MODULES
    assert len(_SCRIPTS) >= 8


def test_every_module_imports_together_without_defining_flags():
    # A fresh interpreter: this worker may have imported some of them already.
    program = (
        "import importlib, sys\n"
        "from absl import app, flags, logging  # their own flags\n"
        "before = set(flags.FLAGS)\n"
        f"for name in {_MODULES!r}:\n"
        "    importlib.import_module(name)\n"
        "added = sorted(set(flags.FLAGS) - before)\n"
        "sys.exit(f'flags defined at import: {added}' if added else 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=_ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


@pytest.mark.parametrize("path", _SCRIPTS, ids=lambda path: path.stem)
def test_script_defines_the_shared_flags_when_run(path):
    text = path.read_text()
    main_block = text.split('if __name__ == "__main__":', 1)[1]
    assert "scripts.define_flags(" in main_block, f"{path.name}: no shared flags"
    assert "flags.DEFINE_" not in text, f"{path.name} defines flags of its own"
    assert "class Settings(scripts.RunSettings)" in text, path.name
    # Scripts read top to bottom; reusable pieces belong in the package.
    assert len(text.splitlines()) <= 340, f"{path.name} is over 340 lines"
