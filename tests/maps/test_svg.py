"""The SVG drawing: projection, one path per drawn country, classed colours with a legend
that covers the data, flow lines as wide as their value."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from clearlane.maps.geometry import load
from clearlane.maps.svg import (
    HEIGHT,
    MAX_WIDTH,
    MIN_WIDTH,
    NO_DATA,
    NOT_DRAWN,
    PALETTES,
    WIDTH,
    choropleth,
    classify,
    flow_lines,
    project,
)


def test_projection_puts_the_map_in_its_box() -> None:
    assert project((0.0, 0.0)) == (WIDTH / 2, pytest.approx(84 * WIDTH / 360))
    assert project((180.0, -60.0)) == (WIDTH, pytest.approx(HEIGHT))


@given(st.lists(st.floats(0, 1e9) | st.none(), min_size=1, max_size=60),
       st.sampled_from(["quantile", "equal"]))
def test_every_value_gets_a_class_of_the_legend(values: list[float | None], method: str) -> None:
    scale = classify(values, "reds", method)
    legend = scale.legend()
    for value in values:
        colour = scale.colour(value)
        if value is None:
            assert colour == NO_DATA
            continue
        assert colour in PALETTES["reds"]
        row = next(r for r in legend if r.colour == colour)
        assert row.low <= value <= row.high
    bounds = [(r.low, r.high) for r in legend]
    assert bounds == sorted(bounds)


def test_choropleth_colours_countries_with_data_and_greys_the_rest() -> None:
    geometry = load()
    values = {"CN": 300.0, "FR": 100.0, "BE": 10.0}
    paths = choropleth(geometry, values, classify(values.values()))
    by_code = {p.code: p for p in paths}
    assert len(paths) == len(geometry.countries) - len(NOT_DRAWN & set(geometry.countries))
    assert by_code["CN"].fill == PALETTES["blues"][-1] and by_code["CN"].has_data
    assert by_code["DE"].fill == NO_DATA and not by_code["DE"].has_data
    assert all(p.d.startswith("M") and p.d.endswith("Z") for p in paths)


def test_flow_lines_are_as_wide_as_their_value() -> None:
    lines = flow_lines(load(), [("CN", "AE", 400.0), ("FR", "BE", 100.0), ("XX", "FR", 5.0),
                                ("FR", "FR", 9.0)])
    assert [(line.source, line.target) for line in lines] == [("FR", "BE"), ("CN", "AE")]
    assert lines[-1].width == MAX_WIDTH
    assert lines[0].width == pytest.approx(MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) / 2)
    assert lines[0].d.startswith("M") and "Q" in lines[0].d
