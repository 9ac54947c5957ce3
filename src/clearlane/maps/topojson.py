"""Decoding TopoJSON (the format of the ``world-atlas`` npm package) into GeoJSON-like
geometries: shared arcs, delta-encoded and quantized, stitched back into rings.

Only what the build of the country geometry needs: ``Polygon`` and ``MultiPolygon`` objects of
a quantized topology (https://github.com/topojson/topojson-specification).

>>> topology = {"transform": {"scale": [1, 1], "translate": [0, 0]},
...             "arcs": [[[0, 0], [1, 0], [0, 1], [-1, 0], [0, -1]]]}
>>> polygons({"type": "Polygon", "arcs": [[0]]}, decode_arcs(topology))
[[[(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]]]
"""

from __future__ import annotations

from typing import Any

Point = tuple[float, float]
Ring = list[Point]
Polygon = list[Ring]
"""A polygon: its exterior ring, then its holes (each ring closed: first point = last)."""


def decode_arcs(topology: dict[str, Any]) -> list[list[Point]]:
    """Every arc of ``topology`` in absolute coordinates (undoing quantization and deltas)."""
    transform = topology.get("transform")
    arcs: list[list[Point]] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([(float(p[0]), float(p[1])) for p in arc])
            continue
        (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
        x = y = 0
        points: list[Point] = []
        for position in arc:
            x += position[0]
            y += position[1]
            points.append((float(x * sx + tx), float(y * sy + ty)))
        arcs.append(points)
    return arcs


def _ring(indexes: list[int], arcs: list[list[Point]]) -> Ring:
    ring: Ring = []
    for index in indexes:
        arc = arcs[index] if index >= 0 else arcs[~index][::-1]
        # consecutive arcs share their end point: keep it once
        ring.extend(arc if not ring else arc[1:])
    if ring and ring[0] != ring[-1]:
        ring.append(ring[0])
    return ring


def polygons(geometry: dict[str, Any], arcs: list[list[Point]]) -> list[Polygon]:
    """The polygons of a ``Polygon`` or ``MultiPolygon`` TopoJSON geometry (others: none)."""
    if geometry.get("type") == "Polygon":
        return [[_ring(r, arcs) for r in geometry["arcs"]]]
    if geometry.get("type") == "MultiPolygon":
        return [[_ring(r, arcs) for r in polygon] for polygon in geometry["arcs"]]
    return []
