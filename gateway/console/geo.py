"""The offline map's geometry: US state outlines from the us-atlas package (ISC licence, Mike Bostock; the
shapes are the US Census Bureau's), already projected to Albers USA on a 975×610 canvas, and the same
projection (d3-geo's geoAlbersUsa, scale 1300, translate 487.5, 305) for points, so dots and outlines agree."""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

ATLAS = Path(__file__).with_name("us_atlas") / "states-albers-10m.json"
WIDTH, HEIGHT = 975, 610
SCALE, TX, TY = 1300.0, 487.5, 305.0


class _Conic:
    """d3's conic equal-area projection with a rotation, centre, scale and translation."""

    def __init__(self, parallels, rotate, center, scale, translate):
        y0, y1 = (math.radians(p) for p in parallels)
        self.n = (math.sin(y0) + math.sin(y1)) / 2
        self.c = 1 + math.sin(y0) * (2 * self.n - math.sin(y0))
        self.r0 = math.sqrt(self.c) / self.n
        self.rotate = math.radians(rotate)
        self.k = scale
        cx, cy = self._raw(math.radians(center[0]), math.radians(center[1]))
        self.dx, self.dy = translate[0] - scale * cx, translate[1] + scale * cy

    def _raw(self, lam: float, phi: float) -> tuple[float, float]:
        r = math.sqrt(max(0.0, self.c - 2 * self.n * math.sin(phi))) / self.n
        lam *= self.n
        return r * math.sin(lam), self.r0 - r * math.cos(lam)

    def __call__(self, lon: float, lat: float) -> tuple[float, float]:
        lam = math.radians(lon) + self.rotate
        lam = (lam + math.pi) % (2 * math.pi) - math.pi
        x, y = self._raw(lam, math.radians(lat))
        return self.dx + self.k * x, self.dy - self.k * y


_LOWER48 = _Conic((29.5, 45.5), 96, (-0.6, 38.7), SCALE, (TX, TY))
_ALASKA = _Conic((55, 65), 154, (-2, 58.5), SCALE * 0.35, (TX - 0.307 * SCALE, TY + 0.201 * SCALE))
_HAWAII = _Conic((8, 18), 157, (-3, 19.9), SCALE, (TX - 0.205 * SCALE, TY + 0.212 * SCALE))
# Where each inset sits on the canvas (d3's clip extents): a point outside all three is not drawn.
_EXTENTS = (
    (_LOWER48, (TX - 0.455 * SCALE, TY - 0.238 * SCALE, TX + 0.455 * SCALE, TY + 0.238 * SCALE)),
    (_ALASKA, (TX - 0.425 * SCALE, TY + 0.120 * SCALE, TX - 0.214 * SCALE, TY + 0.234 * SCALE)),
    (_HAWAII, (TX - 0.214 * SCALE, TY + 0.166 * SCALE, TX - 0.115 * SCALE, TY + 0.234 * SCALE)),
)


def albers_usa(lon: float, lat: float) -> tuple[float, float] | None:
    """A longitude and latitude on the map's canvas; None outside the 50 states (Puerto Rico, Guam)."""
    for projection, (x0, y0, x1, y1) in _EXTENTS:
        x, y = projection(lon, lat)
        if x0 <= x < x1 and y0 <= y < y1:
            return x, y
    return None


@functools.cache
def state_paths() -> dict[str, str]:
    """State name → SVG path data, decoded once from the TopoJSON."""
    topology = json.loads(ATLAS.read_text(encoding="utf-8"))
    (sx, sy), (tx, ty) = topology["transform"]["scale"], topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:
            x, y = x + dx, y + dy
            points.append((round(x * sx + tx, 1), round(y * sy + ty, 1)))
        arcs.append(points)

    def ring(indexes: list[int]) -> str:
        points: list[tuple[float, float]] = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            points.extend(arc[1:] if points else arc)
        return "M" + "L".join(f"{x:g},{y:g}" for x, y in points) + "Z"

    paths = {}
    for geometry in topology["objects"]["states"]["geometries"]:
        polygons = geometry["arcs"] if geometry["type"] == "MultiPolygon" else [geometry["arcs"]]
        paths[geometry["properties"]["name"]] = "".join(ring(r) for polygon in polygons for r in polygon)
    return paths
