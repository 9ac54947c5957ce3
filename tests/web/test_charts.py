"""The server-side SVG line chart: points land inside the plot, gaps break the line, ticks
are round numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from clearlane.web.charts import Series, line_chart


def test_a_gap_breaks_the_line() -> None:
    chart = line_chart([Series("model", ((0, 0.1), (1, None), (2, 0.3)))])
    assert chart.paths[0][2].count("M") == 2  # two pieces, no line across the gap


def test_empty_series_draw_nothing() -> None:
    assert line_chart([Series("model", ((0, None),))]).paths == ()


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_every_point_is_inside_the_plot(values: list[float]) -> None:
    chart = line_chart([Series("s", tuple((float(i), v) for i, v in enumerate(values)))])
    left, top, right, bottom = chart.plot
    assert len(chart.markers) == len(values)
    for x, y, _ in chart.markers:
        assert left - 0.1 <= x <= right + 0.1 and top - 0.1 <= y <= bottom + 0.1
    labels = [label for _, label in chart.y_ticks]
    assert labels[0] == "0%" and len(labels) >= 2
