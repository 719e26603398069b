"""Result tables as Markdown (results/<name>/*.md, README) and LaTeX (papers).

Rows are dicts keyed by column name or plain sequences; cells may be
`Estimate`s, numbers or text. Each writer formats the cells for its own
syntax, so an `Estimate` reads "0.12 [0.05, 0.20]" in both.
"""

from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any, NamedTuple

from ilax.metrics.statistics import Estimate

# Text-mode replacements for LaTeX's special characters; applied in one pass,
# so the braces the replacements introduce are not escaped again.
_LATEX_SPECIALS = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


class Table(NamedTuple):
    """Column names and rows of raw cells, one cell per column."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]

    @classmethod
    def from_rows(
        cls, rows: Sequence[Mapping | Sequence], columns: Sequence[str] | None = None
    ) -> "Table":
        """Builds a table from dict rows or sequence rows.

        Args:
          rows: dicts keyed by column name, or sequences in column order.
          columns: the columns, in order. Defaults to the keys of the dict
            rows in order of first appearance; required for sequence rows.

        Raises:
          ValueError: no rows, no columns, a dict row lacks a column, or a
            sequence row has the wrong length.
        """
        if not rows:
            raise ValueError("Table: rows must be non-empty; got no rows")
        if columns is None:
            if not all(isinstance(row, Mapping) for row in rows):
                raise ValueError("Table: columns must be given for sequence rows")
            columns = list(dict.fromkeys(key for row in rows for key in row))
        columns = tuple(str(column) for column in columns)
        if not columns:
            raise ValueError("Table: columns must be non-empty; got []")
        cells = []
        for index, row in enumerate(rows):
            if isinstance(row, Mapping):
                missing = [column for column in columns if column not in row]
                if missing:
                    raise ValueError(f"Table: row {index} lacks column(s) {missing}")
                cells.append(tuple(row[column] for column in columns))
            else:
                if len(row) != len(columns):
                    raise ValueError(
                        f"Table: row {index} has {len(row)} cells for "
                        f"{len(columns)} columns {list(columns)}"
                    )
                cells.append(tuple(row))
        return cls(columns, tuple(cells))


def _number(value: float, digits: int, latex: bool) -> str:
    text = f"{value:.{digits}f}"
    # A text-mode hyphen is shorter than a minus sign.
    return text.replace("-", "$-$") if latex else text


def format_estimate(estimate: Estimate, digits: int = 2, *, latex: bool = False) -> str:
    """`Estimate` as "value [low, high]"; `latex` typesets minus signs."""
    value, low, high = (_number(x, digits, latex) for x in estimate[:3])
    return f"{value} [{low}, {high}]"


def _cell(value: Any, digits: int, latex: bool) -> str:
    if isinstance(value, Estimate):
        return format_estimate(value, digits, latex=latex)
    if isinstance(value, Real) and not isinstance(value, Integral):
        return _number(float(value), digits, latex)
    text = str(value)
    if latex:
        return "".join(_LATEX_SPECIALS.get(char, char) for char in text)
    # A pipe would end the cell early.
    return text.replace("|", r"\|")


def markdown_table(
    rows: Table | Sequence[Mapping | Sequence],
    columns: Sequence[str] | None = None,
    *,
    digits: int = 2,
) -> str:
    """A GitHub Markdown table; floats and `Estimate`s get `digits` decimals.

    Args:
      rows: a `Table`, or rows as for `Table.from_rows`.
      columns: as for `Table.from_rows`; ignored for a `Table`.
      digits: decimals of floats and estimates (ints and text print as is).
    """
    table = rows if isinstance(rows, Table) else Table.from_rows(rows, columns)
    header = [_cell(column, digits, False) for column in table.columns]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    for row in table.rows:
        lines.append("| " + " | ".join(_cell(c, digits, False) for c in row) + " |")
    return "\n".join(lines)


def latex_table(
    rows: Table | Sequence[Mapping | Sequence],
    columns: Sequence[str] | None = None,
    *,
    digits: int = 2,
    align: str | None = None,
) -> str:
    r"""A booktabs `tabular` (needs `\usepackage{booktabs}`), text escaped.

    Args:
      rows: a `Table`, or rows as for `Table.from_rows`.
      columns: as for `Table.from_rows`; ignored for a `Table`.
      digits: decimals of floats and estimates.
      align: the column specification; defaults to the first column left and
        the others right aligned ("lrr...").
    """
    table = rows if isinstance(rows, Table) else Table.from_rows(rows, columns)
    align = align or "l" + "r" * (len(table.columns) - 1)

    def line(cells):
        return " & ".join(_cell(cell, digits, True) for cell in cells) + r" \\"

    return "\n".join(
        [
            rf"\begin{{tabular}}{{{align}}}",
            r"\toprule",
            line(table.columns),
            r"\midrule",
            *(line(row) for row in table.rows),
            r"\bottomrule",
            r"\end{tabular}",
        ]
    )
