"""Monev: importing region outlines (GeoJSON/TopoJSON) for the map."""

from dataclasses import dataclass, field
from pathlib import Path

from django.db import transaction

from pesiar.monev import geo
from pesiar.monev.models import Boundary
from pesiar.monev.scope import LEVEL_NAMES
from pesiar.regions.models import Region, is_within

# --- importing boundaries -------------------------------------------------------------------


@dataclass
class BoundaryReport:
    features: int = 0
    matched: int = 0
    created: int = 0
    updated: int = 0
    points: int = 0
    by_level: dict[int, int] = field(default_factory=dict)
    unmatched: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        levels = ", ".join(f"{LEVEL_NAMES[lv]}: {n}" for lv, n in sorted(self.by_level.items()))
        out = [
            f"{self.features} features, {self.matched} matched to regions "
            f"({self.created} new, {self.updated} updated; {levels or 'none'}), "
            f"{self.points:,} points after simplifying"
        ]
        if self.unmatched:
            out.append(f"{len(self.unmatched)} features match no region code:")
            out += [f"  {label}" for label in self.unmatched[:50]]
            if len(self.unmatched) > 50:
                out.append(f"  ... and {len(self.unmatched) - 50} more")
        return out


def import_boundaries(
    path: Path, *, within: str | None = None, tolerance: float = 0.0005
) -> BoundaryReport:
    """Store the outlines of a GeoJSON/TopoJSON file by region code (replacing earlier ones
    of the same regions). Features are matched by a code property (kode, code, KODE_DESA, ...,
    dotted or not); those that match no region (or lie outside `within`) are reported."""
    features = geo.read_features(path)
    known = set(Region.objects.values_list("code", flat=True))
    levels = dict(Region.objects.values_list("code", "level")) if features else {}
    report = BoundaryReport(features=len(features))
    outlines: dict[str, geo.Outline] = {}
    for feature in features:
        code = geo.find_code(feature, known)
        if code is None or (within and not is_within(code, within)):
            report.unmatched.append(feature.label())
            continue
        line = geo.outline(feature.polygons, tolerance)
        if code in outlines:  # several features of one region: one multipolygon
            before = outlines[code]
            box = before.bbox
            line = geo.Outline(
                before.geometry + line.geometry,
                before.path + line.path,
                (
                    min(box[0], line.bbox[0]),
                    min(box[1], line.bbox[1]),
                    max(box[2], line.bbox[2]),
                    max(box[3], line.bbox[3]),
                ),
                before.points + line.points,
            )
        outlines[code] = line
    existing = set(
        Boundary.objects.unscoped(reason="importing outlines")
        .filter(region_id__in=list(outlines))
        .values_list("region_id", flat=True)
    )
    name = Path(path).name
    with transaction.atomic():
        Boundary.objects.unscoped(reason="replacing imported outlines").filter(
            region_id__in=list(outlines)
        ).delete()
        Boundary.objects.bulk_create(
            [
                Boundary(
                    region_id=code,
                    level=levels[code],
                    geometry=line.geometry,
                    path=line.path,
                    min_lon=line.bbox[0],
                    min_lat=line.bbox[1],
                    max_lon=line.bbox[2],
                    max_lat=line.bbox[3],
                    source=name[:255],
                )
                for code, line in outlines.items()
            ],
            batch_size=500,
        )
    report.matched = len(outlines)
    report.updated = len(existing)
    report.created = report.matched - report.updated
    report.points = sum(line.points for line in outlines.values())
    for code in outlines:
        report.by_level[levels[code]] = report.by_level.get(levels[code], 0) + 1
    return report


# --- the outlines shipped with Pesiar ----------------------------------------------------------

SHIPPED_DIR = Path(__file__).resolve().parent / "data"
# Coarse first: a finer file replaces the outlines of the regions it has. (file, level)
SHIPPED = (
    ("indonesia-provinces.geojson.gz", 1),
    ("indonesia-regencies.geojson.gz", 2),
    ("jambi-regencies.geojson.gz", 2),
    ("jambi-districts.geojson.gz", 3),
    ("jambi-villages.geojson.gz", 4),
)
SHIPPED_TOLERANCE = 0.0002  # the files are simplified already (40 m to 1 km)


def load_shipped(
    within: str | None = None, levels: set[int] | None = None
) -> dict[str, BoundaryReport]:
    """Import the shipped outlines (wilayah_boundaries © 2024 Cahya DSN, MIT; see
    data/BOUNDARIES.md) for the regions that are loaded, inside `within` and of `levels`
    (default all); returns a report per file."""
    reports = {}
    for name, level in SHIPPED:
        if levels is None or level in levels:
            reports[name] = import_boundaries(
                SHIPPED_DIR / name, within=within, tolerance=SHIPPED_TOLERANCE
            )
    return reports


def ensure_boundaries() -> bool:
    """Load the shipped outlines when no outline at all is stored; True when it loaded them."""
    if Boundary.objects.unscoped(reason="are there outlines").exists():
        return False
    if not Region.objects.filter(level=1).exists():
        return False
    load_shipped()
    return True


def shipped_for(code: str, child_level: int) -> bool:
    """When a map of `code` has no outline for its children (level `child_level`), load the
    shipped ones of that level inside `code` (once per region and hour); True if it tried."""
    from django.conf import settings
    from django.core.cache import cache

    if not settings.PESIAR.get("MONEV", {}).get("SHIPPED_BOUNDARIES", True):
        return False
    if not cache.add(f"monev:shipped:{code}:{child_level}", 1, 3600):
        return False
    return any(r.matched for r in load_shipped(code or None, {child_level}).values())
