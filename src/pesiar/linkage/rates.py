"""Linkage rates where there is no truth: the share of living residents linked to a JKN
card, by sex x age band and by village, with the groups far below the others flagged.

As ONS reports for its Census-to-PDS linkage: a group whose rate is far below the rest is
either truly less covered or systematically missed by the linkage; both need a look.
The map stores the counts per regency, sex and band and per village (no personal data);
the rates of a user's regions are computed from them when shown.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb

BANDS = ("0-19", "20-39", "40-59", "60+")
SEXES = ("L", "P")
# A group is flagged when its rate is this far below the median of its peers (in
# percentage points), or three robust standard deviations when those are wider.
FLAG_GAP_POINTS = 10.0
MIN_RESIDENTS = 30


def count_groups(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, list]:
    """From table `persons`: [regency, sex, band, residents, linked] and [village,
    residents, linked] rows (JSON-ready)."""
    band = (
        f"CASE WHEN birth_date IS NULL THEN NULL "
        f"WHEN date_diff('year', birth_date, DATE '{as_of}') < 20 THEN '0-19' "
        f"WHEN date_diff('year', birth_date, DATE '{as_of}') < 40 THEN '20-39' "
        f"WHEN date_diff('year', birth_date, DATE '{as_of}') < 60 THEN '40-59' ELSE '60+' END"
    )
    groups = con.execute(
        f"""
        SELECT left(village_code, 5) AS regency, sex, {band} AS band, count(*)::INT,
               count(noka)::INT
        FROM persons WHERE village_code IS NOT NULL GROUP BY ALL ORDER BY ALL
        """
    ).fetchall()
    villages = con.execute(
        "SELECT village_code, count(*)::INT, count(noka)::INT FROM persons "
        "WHERE village_code IS NOT NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return {"groups": [list(g) for g in groups], "villages": [list(v) for v in villages]}


def _flag(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark `flagged` the rows (with `residents` and `rate`) far below their peers."""
    rates = [r["rate"] for r in rows if r["residents"] >= MIN_RESIDENTS]
    if len(rates) < 3:
        for row in rows:
            row["flagged"] = False
        return rows
    median = statistics.median(rates)
    spread = 1.4826 * statistics.median(abs(r - median) for r in rates)
    floor = median - max(FLAG_GAP_POINTS, 3 * spread)
    for row in rows:
        row["flagged"] = row["residents"] >= MIN_RESIDENTS and row["rate"] < floor
        row["gap"] = round(row["rate"] - median, 1)
    return rows


def _rate(residents: int, linked: int) -> float:
    return round(100 * linked / residents, 2) if residents else 0.0


def _everywhere(_code: str) -> bool:
    return True


def table(
    stored: dict[str, list] | None,
    inside: Callable[[str], bool] = _everywhere,
    regency_inside: Callable[[str], bool] | None = None,
) -> dict[str, Any]:
    """Rates of the villages for which `inside(code)` holds and of the regencies for which
    `regency_inside(code)` holds (default `inside`): `bands` (one row per sex x age band),
    `villages` (worst first) and `flagged` (the villages flagged)."""
    stored = stored or {}
    regency_inside = regency_inside or inside
    totals: dict[tuple[str, str], list[int]] = {(s, b): [0, 0] for s in SEXES for b in BANDS}
    for regency, sex, band, residents, linked in stored.get("groups", ()):
        if (sex, band) in totals and regency_inside(regency):
            totals[(sex, band)][0] += residents
            totals[(sex, band)][1] += linked
    bands = _flag(
        [
            {"sex": s, "band": b, "residents": n, "linked": k, "rate": _rate(n, k)}
            for (s, b), (n, k) in totals.items()
        ]
    )
    villages = _flag(
        [
            {"village": code, "residents": n, "linked": k, "rate": _rate(n, k)}
            for code, n, k in stored.get("villages", ())
            if inside(code)
        ]
    )
    villages.sort(key=lambda row: (row["rate"], row["village"]))
    residents = sum(r["residents"] for r in bands)
    linked = sum(r["linked"] for r in bands)
    return {
        "bands": bands,
        "villages": villages,
        "flagged": [v for v in villages if v["flagged"]],
        "residents": residents,
        "linked": linked,
        "rate": _rate(residents, linked),
    }


def summary(stored: dict[str, list]) -> dict[str, Any]:
    """The run summary's figures: overall rate, per sex x band, the flagged groups."""
    rates = table(stored)
    return {
        "rate": rates["rate"],
        "bands": {f"{r['sex']} {r['band']}": r["rate"] for r in rates["bands"]},
        "flagged_bands": [f"{r['sex']} {r['band']}" for r in rates["bands"] if r["flagged"]],
        "flagged_villages": [v["village"] for v in rates["flagged"]],
    }


def lines(stored: dict[str, list]) -> list[str]:
    """The rates as text lines (CLI and bench)."""
    rates = table(stored)
    out = [f"linked {rates['linked']:,} of {rates['residents']:,} residents ({rates['rate']}%)"]
    for sex in SEXES:
        cells = [r for r in rates["bands"] if r["sex"] == sex]
        out.append(
            f"  {sex}: "
            + ", ".join(
                f"{r['band']} {r['rate']:.1f}%{' (far below)' if r['flagged'] else ''}"
                for r in cells
            )
        )
    flagged = rates["flagged"]
    worst = ", ".join(f"{v['village']} {v['rate']:.1f}%" for v in flagged[:10])
    out.append(f"  villages far below the others: {len(flagged)}" + (f": {worst}" if worst else ""))
    return out
