"""Training of the stage-2 model that degrades gracefully instead of failing.

A district's leftovers may be too few, or too one-sided, for expectation maximisation
(EM) to estimate every m probability: a level never seen among the training pairs, or
seen only among clear non-matches, would get m = 0, which Splink refuses. So:

1. m and u are floored at M_FLOOR and U_FLOOR during and after training;
2. EM is skipped on a training block with fewer than MIN_EM_PAIRS pairs, and entirely
   when either side has fewer than MIN_EM_RECORDS records;
3. a level whose m (or u) could not be estimated is fixed from the fallback model: the
   last model trained on the same regions (a `reference` passed in), else PRIORS below;
4. a trained model is reused by later runs of the same regions (no training at all)
   unless retraining is asked for or the leftovers drifted (their size changed by more
   than DRIFT).

The path taken is returned as a `Training` record and stored with the run:
"trained" (everything estimated from these data), "partly fixed" (some levels fixed from
the fallback), "reused" (a previous model), "last model" or "priors" (no EM at all).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

M_FLOOR = 1e-6
U_FLOOR = 1e-9
MIN_EM_PAIRS = 1_000
MIN_EM_RECORDS = 100
# Relative change in the number of leftover records past which a kept model is retrained.
DRIFT = 0.25

# Documented priors, used only when no model trained on these regions exists and the
# data cannot estimate a level: m (share of true matches at the level) from the linkage
# of the calibrated scenario; u (share of non-matches) from random pairs of a district.
PRIORS: dict[str, dict[str, tuple[float, float]]] = {
    "name": {
        "Exact match on normalised name": (0.80, 1e-4),
        "Exact match on compact name": (0.05, 1e-5),
        "Same words in another order": (0.01, 1e-6),
        "Jaro-Winkler >= 0.92": (0.07, 2e-3),
        "Jaro-Winkler >= 0.85, or a short name one edit away": (0.04, 2e-2),
        "Every word of one name in the other (a dropped word, a mononym)": (0.02, 1e-3),
        "Every word agrees, some as initials": (0.01, 2e-4),
        "Same longest word (initials)": (0.01, 1e-3),
        "All other comparisons": (0.01, 0.977),
    },
    "birth_nik": {
        "Exact match on NIK": (0.90, 1e-7),
        "Same birth date, NIK Damerau-Levenshtein <= 1": (0.03, 1e-7),
        "Same birth date, NIK Damerau-Levenshtein <= 2": (0.01, 2e-7),
        "Other birth date, NIK Damerau-Levenshtein <= 2": (0.005, 1e-6),
        "Same birth date, NIK NULL": (0.02, 2e-6),
        "Same birth date, other NIK": (0.02, 5e-5),
        "Day and month swapped": (0.002, 5e-5),
        "Birth dates within 3 days": (0.006, 3e-4),
        "Same birth year": (0.003, 2e-2),
        "All other comparisons": (0.004, 0.977),
    },
    "sex": {"Same sex": (0.99, 0.5), "All other comparisons": (0.01, 0.5)},
    "kk": {"Same KK": (0.95, 2e-5), "All other comparisons": (0.05, 0.99998)},
    "village": {
        "Same village": (0.95, 0.01),
        "Same district": (0.04, 0.05),
        "All other comparisons": (0.01, 0.94),
    },
}


@dataclass
class Training:
    """Which path training took, and why."""

    path: str = "trained"
    notes: list[str] = field(default_factory=list)
    fixed_levels: list[str] = field(default_factory=list)
    em_sessions: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "notes": self.notes,
            "fixed_levels": self.fixed_levels,
            "em_sessions": self.em_sessions,
        }


def load_model(path: Path | None) -> dict[str, Any] | None:
    """A saved Splink model (JSON), or None when missing, empty or unreadable."""
    if path is None:
        return None
    try:
        model = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return model if model.get("comparisons") else None


def model_values(model: dict[str, Any] | None) -> dict[tuple[str, str], tuple[Any, Any]]:
    """(comparison, level label) -> (m, u) of a saved model; PRIORS when None."""
    if model is None:
        return {(c, label): mu for c, levels in PRIORS.items() for label, mu in levels.items()}
    values = {}
    for comparison in model["comparisons"]:
        for level in comparison["comparison_levels"]:
            if level.get("is_null_level"):
                continue
            values[(comparison["output_column_name"], level.get("label_for_charts"))] = (
                level.get("m_probability"),
                level.get("u_probability"),
            )
    return values


def _usable(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value) and 0 < value <= 1


def _levels(linker: Any) -> Iterator[tuple[str, Any]]:
    for comparison in linker._settings_obj.comparisons:
        for level in comparison.comparison_levels:
            if not level.is_null_level:
                yield comparison.output_column_name, level


def settle(linker: Any, fallback: dict[tuple[str, str], tuple[Any, Any]], record: Training) -> None:
    """Every non-null level ends with a usable m and u: trained values floored, missing
    ones fixed from `fallback` (and listed in `record.fixed_levels`)."""
    for name, level in _levels(linker):
        label = level.label_for_charts
        m_fb, u_fb = fallback.get((name, label), (None, None))
        for attr, trained, floor, substitute in (
            ("m", level._m_is_trained, M_FLOOR, m_fb),
            ("u", level._u_is_trained, U_FLOOR, u_fb),
        ):
            value = getattr(level, f"_{attr}_probability")
            if trained and _usable(value):
                setattr(level, f"{attr}_probability", max(float(value), floor))
                continue
            if not _usable(substitute):
                substitute = PRIORS.get(name, {}).get(label, (M_FLOOR, U_FLOOR))[attr == "u"]
            setattr(level, f"{attr}_probability", max(float(substitute), floor))
            if attr == "m":
                level._fix_m_probability = True
            else:
                level._fix_u_probability = True
            record.fixed_levels.append(f"{name}: {label} ({attr})")


def apply_model(linker: Any, values: dict[tuple[str, str], tuple[Any, Any]]) -> int:
    """Set every level's m and u from `values`; returns how many levels had none there."""
    missing = 0
    for name, level in _levels(linker):
        m, u = values.get((name, level.label_for_charts), (None, None))
        if _usable(m) and _usable(u):
            level.m_probability = max(float(m), M_FLOOR)
            level.u_probability = max(float(u), U_FLOOR)
        else:
            missing += 1
    return missing


@contextmanager
def floored_em() -> Iterator[None]:
    """During EM, an m or u that an iteration drives to 0 is floored instead of refused.

    Splink (>= 5) validates m and u in their setters, so one empty level would abort the
    whole session; the lookup EM fills the levels from is floored before it is applied.
    """
    try:
        from splink.internals import expectation_maximisation as em
    except ImportError:  # another Splink layout: rely on catching the error per session
        yield
        return
    original = getattr(em, "populate_m_u_from_lookup", None)
    if original is None:
        yield
        return

    def floored(fixed, level, column, lookup):
        for record in lookup.get(column, {}).values():
            for key, floor in (("m_probability", M_FLOOR), ("u_probability", U_FLOOR)):
                value = record.get(key)
                if isinstance(value, int | float) and not (value >= floor):
                    record[key] = floor
        return original(fixed, level, column, lookup)

    em.populate_m_u_from_lookup = floored
    try:
        yield
    finally:
        em.populate_m_u_from_lookup = original


def drifted(previous: dict[str, Any] | None, n_left: int, n_right: int) -> bool:
    """Whether the leftovers differ too much in size from those a kept model saw."""
    if not previous:
        return True
    for key, now in (("left", n_left), ("right", n_right)):
        before = previous.get(key) or 0
        if not before or abs(now - before) / before > DRIFT:
            return True
    return False
