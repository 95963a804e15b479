"""Region outlines: read GeoJSON and TopoJSON, find each feature's region code, simplify, and
turn the outline into SVG path data (plain lon/lat: x = lon, y = -lat; the map's viewBox does
the scaling, which near the equator is as good as any projection for a district map).
"""

import gzip
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Ring = list[tuple[float, float]]
Polygon = list[Ring]

# Properties that name a region code, most specific first (compared case-insensitively).
CODE_PROPERTIES = (
    "kode",
    "code",
    "kode_desa",
    "kd_desa",
    "kode_kel",
    "kode_kec",
    "kd_kec",
    "kode_kab",
    "kd_kab",
    "kode_prov",
    "kd_prov",
    "kdepum",
    "kdcpum",
    "kdppum",
    "kode_wilayah",
    "kode_bps",
    "id_desa",
    "adm4_pcode",
    "adm3_pcode",
    "adm2_pcode",
    "adm1_pcode",
    "region_code",
    "village_code",
    "district_code",
    "regency_code",
    "province_code",
)
# Digits of an undotted code at each level, and where the dots go.
_SPLITS = {2: (2,), 4: (2, 2), 6: (2, 2, 2), 10: (2, 2, 2, 4)}


class BoundaryFileError(ValueError):
    """The file is not GeoJSON or TopoJSON with polygon features."""


def normalise_code(value: Any) -> str | None:
    """'1502052001', '15.02.05.2001', 'ID1502' or 15 -> a dotted Kemendagri code, else None."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip().upper()
    text = text.removeprefix("ID")
    if re.fullmatch(r"\d{2}(\.\d{2}(\.\d{2}(\.\d{4})?)?)?", text):
        return text
    digits = text.replace(".", "").replace("-", "").replace(" ", "")
    if isinstance(value, int | float) and not isinstance(value, bool):
        digits = str(int(value))
    if not digits.isdigit() or len(digits) not in _SPLITS:
        return None
    parts, at = [], 0
    for n in _SPLITS[len(digits)]:
        parts.append(digits[at : at + n])
        at += n
    return ".".join(parts)


@dataclass
class Feature:
    properties: dict[str, Any]
    polygons: list[Polygon]
    feature_id: Any = None

    def label(self) -> str:
        for key in ("name", "nama", "NAMOBJ", "WADMKD", "desa", "NAME_4", "NAME_3", "NAME_2"):
            if self.properties.get(key):
                return str(self.properties[key])
        return str(self.feature_id if self.feature_id is not None else self.properties)[:80]


def find_code(feature: Feature, known: set[str]) -> str | None:
    """The region code of a feature: the first code-like property (see CODE_PROPERTIES) whose
    value is a known region, else any property (or the feature id) that is one."""
    lowered = {str(k).lower(): v for k, v in feature.properties.items()}
    for key in CODE_PROPERTIES:
        code = normalise_code(lowered.get(key))
        if code and code in known:
            return code
    for value in [feature.feature_id, *feature.properties.values()]:
        code = normalise_code(value)
        if code and code in known:
            return code
    return None


# --- reading -----------------------------------------------------------------------------------


def read_features(path: Path) -> list[Feature]:
    """The polygon features of a GeoJSON (FeatureCollection, Feature or geometry) or TopoJSON
    file; features without an area (points, lines) are skipped."""
    try:
        raw = Path(path).read_bytes()
        if raw[:2] == b"\x1f\x8b":  # gzip-compressed
            raw = gzip.decompress(raw)
        data = json.loads(raw.decode("utf-8-sig"))
    except (OSError, EOFError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BoundaryFileError(f"{path}: not a JSON file ({exc})") from exc
    if not isinstance(data, dict) or "type" not in data:
        raise BoundaryFileError(f"{path}: neither GeoJSON nor TopoJSON (no 'type')")
    if data["type"] == "Topology":
        return list(_topojson_features(data))
    return list(_geojson_features(data))


def _geojson_features(data: dict) -> Iterator[Feature]:
    kind = data.get("type")
    if kind == "FeatureCollection":
        for item in data.get("features") or []:
            yield from _geojson_features(item)
    elif kind == "Feature":
        polygons = _polygons(data.get("geometry") or {})
        if polygons:
            yield Feature(data.get("properties") or {}, polygons, data.get("id"))
    else:
        polygons = _polygons(data)
        if polygons:
            yield Feature({}, polygons)


def _polygons(geometry: dict) -> list[Polygon]:
    kind = geometry.get("type")
    coords = geometry.get("coordinates")
    if kind == "Polygon":
        return [_rings(coords)]
    if kind == "MultiPolygon":
        return [_rings(p) for p in coords]
    if kind == "GeometryCollection":
        return [p for g in geometry.get("geometries") or [] for p in _polygons(g)]
    return []


def _rings(rings: list) -> Polygon:
    return [[(float(p[0]), float(p[1])) for p in ring] for ring in rings]


def _topojson_features(topology: dict) -> Iterator[Feature]:
    transform = topology.get("transform")
    arcs = [_decode_arc(arc, transform) for arc in topology.get("arcs") or []]

    def ring(indexes: list[int]) -> Ring:
        points: Ring = []
        for index in indexes:
            arc = arcs[index] if index >= 0 else arcs[~index][::-1]
            # consecutive arcs share their end and start point
            points.extend(arc[1:] if points else arc)
        return points

    def geometries(obj: dict) -> Iterator[dict]:
        if obj.get("type") == "GeometryCollection":
            for item in obj.get("geometries") or []:
                yield from geometries(item)
        else:
            yield obj

    for obj in (topology.get("objects") or {}).values():
        for geometry in geometries(obj):
            kind = geometry.get("type")
            if kind == "Polygon":
                polygons = [[ring(r) for r in geometry["arcs"]]]
            elif kind == "MultiPolygon":
                polygons = [[ring(r) for r in p] for p in geometry["arcs"]]
            else:
                continue
            yield Feature(geometry.get("properties") or {}, polygons, geometry.get("id"))


def _decode_arc(arc: list, transform: dict | None) -> Ring:
    if not transform:
        return [(float(p[0]), float(p[1])) for p in arc]
    (sx, sy), (tx, ty) = transform["scale"], transform["translate"]
    x = y = 0
    points = []
    for p in arc:  # quantised arcs are delta-encoded
        x += p[0]
        y += p[1]
        points.append((x * sx + tx, y * sy + ty))
    return points


# --- simplifying and drawing -------------------------------------------------------------------


def simplify(ring: Ring, tolerance: float) -> Ring:
    """Douglas-Peucker on a closed ring (iterative); keeps at least the ring's four extremes."""
    if len(ring) <= 4 or tolerance <= 0:
        return ring
    keep = [False] * len(ring)
    keep[0] = keep[-1] = True
    for i in (
        min(range(len(ring)), key=lambda i: ring[i][0]),
        max(range(len(ring)), key=lambda i: ring[i][0]),
        min(range(len(ring)), key=lambda i: ring[i][1]),
        max(range(len(ring)), key=lambda i: ring[i][1]),
    ):
        keep[i] = True
    anchors = [i for i, k in enumerate(keep) if k]
    stack = list(itertools.pairwise(anchors))
    while stack:
        first, last = stack.pop()
        if last - first < 2:
            continue
        (x1, y1), (x2, y2) = ring[first], ring[last]
        dx, dy = x2 - x1, y2 - y1
        norm = math.hypot(dx, dy)
        best, best_d = -1, tolerance
        for i in range(first + 1, last):
            px, py = ring[i]
            if norm == 0:
                d = math.hypot(px - x1, py - y1)
            else:
                d = abs(dy * px - dx * py + x2 * y1 - y2 * x1) / norm
            if d > best_d:
                best, best_d = i, d
        if best >= 0:
            keep[best] = True
            stack.append((first, best))
            stack.append((best, last))
    return [p for p, k in zip(ring, keep, strict=True) if k]


@dataclass
class Outline:
    geometry: list[list[list[list[float]]]]  # MultiPolygon coordinates
    path: str
    bbox: tuple[float, float, float, float]  # min_lon, min_lat, max_lon, max_lat
    points: int = field(default=0)


def outline(polygons: list[Polygon], tolerance: float = 0.0005, digits: int = 5) -> Outline:
    """Simplified MultiPolygon coordinates, SVG path data and bounding box of a feature."""
    geometry: list = []
    parts: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    points = 0
    for polygon in polygons:
        rings = []
        for ring in polygon:
            small = simplify(ring, tolerance)
            if len(small) < 4:
                small = ring
            if len(small) < 3:
                continue
            coords = [[round(x, digits), round(y, digits)] for x, y in small]
            rings.append(coords)
            points += len(coords)
            xs.extend(c[0] for c in coords)
            ys.extend(c[1] for c in coords)
            parts.append(
                "M" + "L".join(f"{_num(x, digits)} {_num(-y, digits)}" for x, y in coords) + "Z"
            )
        if rings:
            geometry.append(rings)
    if not geometry:
        raise BoundaryFileError("a feature has no ring with three points or more")
    return Outline(geometry, "".join(parts), (min(xs), min(ys), max(xs), max(ys)), points)


def _num(value: float, digits: int) -> str:
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
