"""Markdown and LaTeX tables compared with exact expected text."""

import numpy as np
import pytest

from ilax.metrics import Estimate, Table, format_estimate, latex_table, markdown_table

ROWS = [
    {"arm": "bc", "return": Estimate(0.123, 0.05, 0.2, 5)},
    {"arm": "dagger_beta", "return": 1.5},
]


def test_format_estimate():
    assert format_estimate(Estimate(0.123, 0.05, 0.2, 5)) == "0.12 [0.05, 0.20]"
    assert format_estimate(Estimate(12.0, 9.5, 14.25, 3), 1) == "12.0 [9.5, 14.2]"
    negative = Estimate(-0.5, -1.0, 0.25, 3)
    assert format_estimate(negative) == "-0.50 [-1.00, 0.25]"
    assert format_estimate(negative, latex=True) == "$-$0.50 [$-$1.00, 0.25]"


def test_markdown_table_of_two_by_two():
    assert markdown_table(ROWS) == (
        "| arm | return |\n"
        "|---|---|\n"
        "| bc | 0.12 [0.05, 0.20] |\n"
        "| dagger_beta | 1.50 |"
    )


def test_latex_table_of_two_by_two():
    assert latex_table(ROWS) == (
        "\\begin{tabular}{lr}\n"
        "\\toprule\n"
        "arm & return \\\\\n"
        "\\midrule\n"
        "bc & 0.12 [0.05, 0.20] \\\\\n"
        "dagger\\_beta & 1.50 \\\\\n"
        "\\bottomrule\n"
        "\\end{tabular}"
    )


def test_latex_escapes_special_characters():
    text = "50% & a_b $x$ #1 {y} ~^\\"
    table = latex_table([[text]], ["note"], align="p{5cm}")
    assert table.splitlines()[0] == "\\begin{tabular}{p{5cm}}"
    assert table.splitlines()[4] == (
        r"50\% \& a\_b \$x\$ \#1 \{y\} \textasciitilde{}\textasciicircum{}"
        r"\textbackslash{} \\"
    )


def test_markdown_escapes_pipes():
    assert markdown_table([{"a|b": "x|y"}]).splitlines() == [
        r"| a\|b |",
        "|---|",
        r"| x\|y |",
    ]


def test_cells_by_type_and_column_order():
    rows = [{"n": np.int64(5), "x": np.float32(0.25)}, {"x": 1 / 3, "n": 7}]
    assert markdown_table(rows, digits=3).splitlines()[2:] == [
        "| 5 | 0.250 |",
        "| 7 | 0.333 |",
    ]
    # Explicit columns pick and order them.
    assert markdown_table(rows, ["x"]).splitlines()[0] == "| x |"


def test_sequence_rows_render_as_the_benchmark_tables_did():
    # benchmarks/common.markdown_table(headers, rows) produced exactly this.
    body = [["pendulum", 16, "1,234"], ["kart_track", 8, "567"]]
    assert markdown_table(body, ["task", "envs", "steps/s"]) == (
        "| task | envs | steps/s |\n"
        "|---|---|---|\n"
        "| pendulum | 16 | 1,234 |\n"
        "| kart_track | 8 | 567 |"
    )


def test_table_value_feeds_both_writers():
    table = Table.from_rows(ROWS)
    assert table.columns == ("arm", "return")
    assert markdown_table(table) == markdown_table(ROWS)
    assert latex_table(table) == latex_table(ROWS)


@pytest.mark.parametrize(
    ("rows", "columns", "message"),
    [
        ([], None, "rows must be non-empty"),
        ([["a", 1]], None, "columns must be given for sequence rows"),
        ([{"a": 1}], [], "columns must be non-empty"),
        ([{"a": 1}, {"b": 2}], ["a"], r"row 1 lacks column\(s\) \['a'\]"),
        ([["a", 1, 2]], ["x", "y"], "row 0 has 3 cells for 2 columns"),
    ],
)
def test_tables_reject_bad_rows(rows, columns, message):
    for writer in (markdown_table, latex_table):
        with pytest.raises(ValueError, match=message):
            writer(rows, columns)
