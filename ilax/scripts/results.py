"""Result files: results/<name>/ as JSON, Markdown and LaTeX, and BENCHMARKS.md.

Every benchmark and experiment writes its folder through `write`: the whole
record as `results.json` (arrays as lists, NaN as null, configs as dicts),
its summary as `results.md`, and each of its tables as a booktabs tabular in
`results.tex`, ready for a paper. Benchmarks also `publish` their section of
BENCHMARKS.md. Plots are `ilax.metrics.plot_curves` PNGs in the same folder.
"""

import dataclasses
import json
import math
import os
import pathlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ilax import metrics as metrics_lib
from ilax.scripts.provenance import hardware_line

BENCHMARKS_MD = pathlib.Path("BENCHMARKS.md")


def to_json(value: Any) -> Any:
    """`value` as plain JSON.

    Arrays become lists, NaN and inf None, dataclasses and NamedTuples dicts,
    tuples lists.
    """
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(dataclasses.asdict(value))
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return to_json(value._asdict())
    if isinstance(value, Mapping):
        return {str(name): to_json(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(item) for item in value]
    if hasattr(value, "__array__") and not isinstance(value, str | bytes):
        array = np.asarray(value)
        return to_json(array.tolist()) if array.ndim else to_json(array.item())
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    return value


def write(
    out_dir: str | os.PathLike,
    record: dict[str, Any],
    markdown: str,
    *,
    tables: Mapping[str, metrics_lib.Table | Sequence] | None = None,
    digits: int = 2,
) -> pathlib.Path:
    """Writes `results.json`, `results.md` and (with `tables`) `results.tex`.

    Args:
      out_dir: the folder, created if missing.
      record: everything behind the figures (settings, configs, per-seed
        numbers, environment).
      markdown: the human summary, tables included.
      tables: caption -> rows (a `Table` or rows for `Table.from_rows`),
        each written to `results.tex` as a tabular.
      digits: decimals of the LaTeX tables' numbers.

    Returns:
      The folder.
    """
    out = pathlib.Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _replace(out / "results.json", json.dumps(to_json(record), indent=2) + "\n")
    _replace(out / "results.md", markdown.rstrip() + "\n")
    tex = out / "results.tex"
    if tables:
        blocks = [
            f"% {caption}\n{metrics_lib.latex_table(rows, digits=digits)}"
            for caption, rows in tables.items()
        ]
        _replace(tex, "\n\n".join(blocks) + "\n")
    elif tex.exists():
        tex.unlink()  # an earlier run's tables would not match these numbers
    return out


def _replace(path: pathlib.Path, text: str) -> None:
    """Writes `path` whole or not at all (a stopped sweep keeps its last file)."""
    staging = path.with_name(path.name + ".tmp")
    staging.write_text(text)
    os.replace(staging, path)


def read(out_dir: str | os.PathLike) -> dict[str, Any] | None:
    """The `results.json` of a folder, or None where there is none."""
    path = pathlib.Path(out_dir) / "results.json"
    return json.loads(path.read_text()) if path.exists() else None


def earlier_results(
    out_dir: str | os.PathLike, settings: dict[str, Any], environment: dict[str, Any]
) -> dict[str, Any]:
    """The `results` of an earlier run in `out_dir`, to resume a sweep.

    Args:
      out_dir: the folder.
      settings: the settings whose values the earlier run must share (only
        these keys are compared).
      environment: this run's `environment_info()`; the earlier run must have
        run on a machine of the same `hardware_line`.

    Returns:
      The earlier record's `results`, or {} where there is none.

    Raises:
      ValueError: other settings or other hardware, naming what differs.
    """
    record = read(out_dir)
    if record is None:
        return {}
    earlier = {name: record["settings"].get(name) for name in settings}
    if earlier != settings:
        raise ValueError(
            f"resume: {out_dir} was made with settings {earlier}, this run has "
            f"{settings}; use another --out_dir or the same settings"
        )
    before, now = hardware_line(record["environment"]), hardware_line(environment)
    if before != now:
        raise ValueError(f"resume: {out_dir} ran on {before!r}, this is {now!r}")
    return record["results"]


def update_benchmarks_md(
    section: str, body: str, path: pathlib.Path = BENCHMARKS_MD
) -> None:
    """Replaces (or appends) one section of BENCHMARKS.md.

    A section runs from `<!-- begin: {section} -->` to `<!-- end: {section} -->`,
    so each benchmark rewrites only its own figures.
    """
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    begin, end = f"<!-- begin: {section} -->", f"<!-- end: {section} -->"
    block = f"{begin}\n{body.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def publish(
    name: str,
    title: str,
    record: dict[str, Any],
    markdown: str,
    *,
    out_dir: str | os.PathLike | None = None,
    benchmarks_md: bool = True,
    tables: Mapping[str, metrics_lib.Table | Sequence] | None = None,
    intro: str = "",
    per_backend: bool = True,
    section: str | None = None,
) -> pathlib.Path:
    """A benchmark's results: its folder, the table printed, BENCHMARKS.md.

    Args:
      name: the script's module name under `benchmarks/`.
      title: the section's heading.
      record: as for `write`.
      markdown: the table(s) and notes.
      out_dir: the folder; by default `results/<name>_<backend>` (or
        `results/<name>` without `per_backend`).
      benchmarks_md: rewrite the script's section of BENCHMARKS.md.
      tables: as for `write`.
      intro: what the section says before the table (how it was measured);
        it starts with the command that made it.
      per_backend: the folder, section and heading carry the backend, so CPU
        and GPU figures of one benchmark live side by side.
      section: the section's name in BENCHMARKS.md (by default the folder's).
    """
    backend = record["environment"]["backend"]
    suffix = f"_{backend}" if per_backend else ""
    out = write(
        out_dir or pathlib.Path("results") / f"{name}{suffix}",
        record,
        markdown,
        tables=tables,
    )
    print("\n" + markdown)
    if benchmarks_md:
        heading = f"{title} ({backend})" if per_backend else title
        command = f"`python -m benchmarks.{name}`"
        update_benchmarks_md(
            section or f"{name}{suffix}",
            f"## {heading}\n\n{command}{intro}\n\n{markdown}",
        )
    return out
