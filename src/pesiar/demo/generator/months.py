"""Earlier monthly snapshots of a scenario, and the truth of what changed between them.

The generated scenario is the latest date (its calibrated figures stay true). Each earlier
month is made from the one after it by undoing that month's changes, so the registers move
forward the way a branch sees them month by month:

- PBI participants deactivated (active before, inactive "PBI deactivated" now);
- PBPU participants lapsing into arrears (active before);
- PPU participants whose employment ended (active before, layoff cover ended now);
- reactivated participants (inactive with arrears before, active now);
- new registrations from the field work (no card before);
- births (not in the population before) and deaths (alive before, with a death date now);
- moves inside a district (another village before).

Only participants whose card links cleanly (no NIK or name noise, not duplicated, address in
their own village) change status, so the truth is what an exact map sees. The truth is
`truth/changes.csv`: as_of, previous, nik, village_code (where the change is counted: the
village before for deaths, the village after otherwise), cause.
"""

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pesiar.demo.generator.files import write_csv
from pesiar.regions.codes import parent
from pesiar.registers.vocabulary import InactiveReason as Reason

# Causes of a change, as the churn radar names them (pesiar.coverage.churn).
PBI_DEACTIVATED = "PBI_DEACTIVATED"
ARREARS = "ARREARS"
EMPLOYMENT_ENDED = "EMPLOYMENT_ENDED"
REACTIVATED = "REACTIVATED"
REGISTERED = "REGISTERED"
BORN = "BORN"
DECEASED = "DECEASED"
MOVED = "MOVED"
# Share of the eligible participants that change in one month.
MONTHLY_RATES = {
    PBI_DEACTIVATED: 0.03,
    ARREARS: 0.04,
    EMPLOYMENT_ENDED: 0.08,
    REACTIVATED: 0.05,
    REGISTERED: 0.012,
    MOVED: 0.002,
}
CHANGES_FILE = "truth/changes.csv"


def month_before(day: date, months: int = 1) -> date:
    """The same day `months` months earlier (the 1st stays the 1st)."""
    y, m = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(y, m + 1, min(day.day, 28))


@dataclass
class MonthFiles:
    as_of: date
    population: Path
    membership: Path


def _read(path: Path, delimiter: str) -> pa.Table:
    names = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter)).column_names
    return pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(delimiter=delimiter),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in names}, strings_can_be_null=True
        ),
    )


def _set(table: pa.Table, column: str, mask: np.ndarray, value: str | None) -> pa.Table:
    old = table.column(column).to_numpy(zero_copy_only=False).astype(object)
    old[mask] = value
    i = table.column_names.index(column)
    return table.set_column(i, column, pa.array(old, pa.string()))


def _days(values: pa.ChunkedArray, fmt: str) -> np.ndarray:
    """Text dates as days since 1970 (-1 where blank)."""
    parsed = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    days = pc.cast(pc.cast(parsed, pa.date32()), pa.int32())
    return days.to_numpy(zero_copy_only=False).astype(float)


def _pick(rng: np.random.Generator, candidates: np.ndarray, rate: float) -> np.ndarray:
    k = round(len(candidates) * rate)
    return np.sort(rng.choice(candidates, size=k, replace=False)) if k else candidates[:0]


class History(SimpleNamespace):
    """The registers as they stand at the month being undone, and what is known of everyone:
    the residents' truth (`nik`, `res_village`, `res_noka`, ...), the population and
    membership tables (`pop`, `mem`), the clean cards, and the changes found so far."""


def write_months(scenario, months: int = 2, seed: int | None = None) -> list[MonthFiles]:
    """Write `months` earlier monthly population and membership extracts under
    `history/DATE/` and their changes to truth/changes.csv; returns them oldest first."""
    rng = np.random.default_rng((scenario.seed if seed is None else seed) + 7_919)
    h = _history(scenario)
    files: list[MonthFiles] = []
    current = scenario.as_of
    for _ in range(months):
        previous = month_before(current)
        prev_day = (previous - date(1970, 1, 1)).days
        cur_day = (current - date(1970, 1, 1)).days
        born = h.res_alive & (h.birth > prev_day) & (h.birth <= cur_day)
        died = (h.dead_day > prev_day) & (h.dead_day <= cur_day)
        born_noka = {h.res_noka[i] for i in np.flatnonzero(born) if h.res_noka[i] is not None}
        h.used |= born_noka
        new = _undo_status_changes(rng, h, current, previous)
        moved_from = _undo_life_events(rng, h, current, previous, born, died)
        _step_back(h, born, died, moved_from, {h.mem_noka[i] for i in new} | born_noka)
        folder = scenario.out_dir / "history" / previous.isoformat()
        folder.mkdir(parents=True, exist_ok=True)
        write_csv(h.pop, folder / "population.csv", delimiter=";")
        write_csv(h.mem, folder / "membership.csv")
        files.append(MonthFiles(previous, folder / "population.csv", folder / "membership.csv"))
        current = previous
    _write_changes(scenario.out_dir / CHANGES_FILE, h.changes)
    return files[::-1]


def _history(scenario) -> History:
    """The latest registers and truth of `scenario`, read for going back month by month."""
    residents = pq.read_table(scenario.truth_path("residents"))
    participants = pq.read_table(scenario.truth_path("participants"))
    h = History(
        pop=_read(scenario.path("population"), ";"),
        mem=_read(scenario.path("membership"), ","),
        changes=[],
        used=set(),
    )
    h.nik = residents.column("nik").to_numpy(zero_copy_only=False).astype(str)
    h.res_village = residents.column("village_code").to_numpy(zero_copy_only=False).astype(str)
    h.res_noka = residents.column("noka").to_numpy(zero_copy_only=False)
    h.res_alive = residents.column("alive").to_numpy(zero_copy_only=False)
    h.birth = pc.cast(residents.column("birth_date"), pa.int32()).to_numpy(zero_copy_only=False)
    # Clean cards: exactly one row, true NIK and name, own village.
    clean = pc.and_(
        pc.and_(
            pc.is_null(participants.column("nik_noise")), pc.invert(participants["duplicated"])
        ),
        pc.and_(pc.invert(participants["name_variant"]), pc.invert(participants["other_village"])),
    )
    clean = pc.and_(clean, pc.equal(participants["kind"], "resident"))
    h.clean_noka = set(pc.filter(participants["noka"], clean).to_pylist())

    h.pop_nik = h.pop.column("NIK").to_numpy(zero_copy_only=False).astype(str)
    h.death = _days(h.pop.column("TGL_MATI"), "%d-%m-%Y")
    nik_death = dict(zip(h.pop_nik, h.death, strict=True))
    h.dead_day = np.array([nik_death.get(k, np.nan) for k in h.nik], dtype=float)

    h.mem_noka = h.mem.column("NOKA").to_numpy(zero_copy_only=False).astype(str)
    h.village_of_noka = {
        k: v for k, v in zip(h.res_noka, h.res_village, strict=True) if k is not None
    }
    h.nik_of = {k: v for k, v in zip(h.res_noka, h.nik, strict=True) if k is not None}
    h.districts = {}
    for v in sorted(set(h.res_village)):
        h.districts.setdefault(parent(v), []).append(v)
    return h


def _undo_status_changes(rng, h: History, current: date, previous: date) -> np.ndarray:
    """Pick the month's status changes among the clean cards and undo them in the membership
    table: the lost were active, the reactivated owed, the new had no card. Returns the rows
    of the new registrations."""
    mem, mem_noka = h.mem, h.mem_noka
    status = pc.if_else(pc.equal(mem["STATUS_PESERTA"], "AKTIF"), "ACTIVE", "INACTIVE").to_numpy(
        zero_copy_only=False
    )
    reason = mem.column("KETERANGAN_NONAKTIF").to_numpy(zero_copy_only=False)
    segment = mem.column("SEGMEN").to_numpy(zero_copy_only=False).astype(str)
    row_ok = np.array([k in h.clean_noka and k not in h.used for k in mem_noka])
    active = row_ok & (status == "ACTIVE")
    inactive = row_ok & (status == "INACTIVE")

    def rows(mask: np.ndarray, rate: float) -> np.ndarray:
        return _pick(rng, np.flatnonzero(mask), rate)

    deact = rows(inactive & (reason == Reason.PBI_DEACTIVATED), MONTHLY_RATES[PBI_DEACTIVATED])
    arrears = rows(inactive & (reason == Reason.ARREARS), MONTHLY_RATES[ARREARS])
    ended = rows(inactive & (reason == Reason.LAYOFF_ENDED), MONTHLY_RATES[EMPLOYMENT_ENDED])
    pbpu = np.char.find(np.char.upper(segment), "PBPU") >= 0
    mandiri = np.char.find(np.char.upper(segment), "MANDIRI") >= 0
    self_paying = (pbpu | mandiri) & (np.char.find(np.char.upper(segment), "PEMDA") < 0)
    back = rows(active & self_paying, MONTHLY_RATES[REACTIVATED])
    new = rows(active & ~self_paying, MONTHLY_RATES[REGISTERED])
    lost = np.isin(np.arange(len(mem_noka)), np.r_[deact, arrears, ended])
    mem = _set(mem, "STATUS_PESERTA", lost, "AKTIF")
    for column in ("KETERANGAN_NONAKTIF", "BULAN_TUNGGAK", "JML_TUNGGAKAN"):
        mem = _set(mem, column, lost, None)
    owed = np.isin(np.arange(len(mem_noka)), back)
    mem = _set(mem, "STATUS_PESERTA", owed, "NONAKTIF")
    mem = _set(mem, "KETERANGAN_NONAKTIF", owed, Reason.ARREARS.value)
    mem = _set(mem, "BULAN_TUNGGAK", owed, "2")
    mem = _set(mem, "JML_TUNGGAKAN", owed, "70000")
    h.mem = mem
    for idx, cause in (
        (deact, PBI_DEACTIVATED),
        (arrears, ARREARS),
        (ended, EMPLOYMENT_ENDED),
        (back, REACTIVATED),
        (new, REGISTERED),
    ):
        for i in idx:
            noka = mem_noka[i]
            h.used.add(noka)
            h.changes.append((current, previous, h.nik_of[noka], h.village_of_noka[noka], cause))
    return new


def _undo_life_events(rng, h: History, current: date, previous: date, born, died) -> dict:
    """The month's births and deaths, and moves between villages of one district (picked among
    the clean residents not changed yet); returns {nik: the village before} of the movers."""
    nik, res_village, res_noka = h.nik, h.res_village, h.res_noka
    stay = h.res_alive & ~born & np.array([k not in h.used for k in res_noka]) & (res_noka != None)  # noqa: E711
    stay &= np.array([k in h.clean_noka for k in res_noka])
    movers = _pick(rng, np.flatnonzero(stay), MONTHLY_RATES[MOVED])
    movers = np.array(
        [i for i in movers if len(h.districts[parent(res_village[i])]) > 1], dtype=int
    )
    for i in np.flatnonzero(born):
        h.changes.append((current, previous, nik[i], res_village[i], BORN))
    for i in np.flatnonzero(died):
        h.changes.append((current, previous, nik[i], res_village[i], DECEASED))
    moved_from: dict[str, str] = {}
    for i in movers:
        options = [v for v in h.districts[parent(res_village[i])] if v != res_village[i]]
        moved_from[nik[i]] = options[int(rng.integers(0, len(options)))]
        h.used.add(res_noka[i])
        h.changes.append((current, previous, nik[i], res_village[i], MOVED))
    return moved_from


def _step_back(h: History, born, died, moved_from: dict, new_noka: set) -> None:
    """The registers one month earlier: without the born and the new cards, the dead alive
    (their cards active), the movers in their earlier village."""
    nik, res_noka, mem_noka = h.nik, h.res_noka, h.mem_noka
    born_nik = set(nik[born])
    died_nik = set(nik[died])
    died_noka = {res_noka[i] for i in np.flatnonzero(died) if res_noka[i] is not None}
    keep_pop = np.array([k not in born_nik for k in h.pop_nik])
    h.pop = h.pop.filter(pa.array(keep_pop))
    h.pop_nik = h.pop_nik[keep_pop]
    h.death = h.death[keep_pop]
    h.pop = _set(h.pop, "TGL_MATI", np.array([k in died_nik for k in h.pop_nik]), None)
    h.pop = _move(h.pop, h.pop_nik, moved_from)
    was_dead_card = np.array([k in died_noka for k in mem_noka])
    h.mem = _set(h.mem, "STATUS_PESERTA", was_dead_card, "AKTIF")
    h.mem = _set(h.mem, "KETERANGAN_NONAKTIF", was_dead_card, None)
    keep_mem = np.array([k not in new_noka for k in mem_noka])
    h.mem = h.mem.filter(pa.array(keep_mem))
    h.mem_noka = mem_noka[keep_mem]
    # Residents moved in the earlier month live in the other village from then on.
    h.res_village = np.array(
        [moved_from.get(k, v) for k, v in zip(nik, h.res_village, strict=True)]
    )
    h.village_of_noka = {
        k: v for k, v in zip(res_noka, h.res_village, strict=True) if k is not None
    }
    h.res_alive = h.res_alive & ~born | died


def _write_changes(path: Path, changes: list[tuple]) -> None:
    write_csv(
        pa.table(
            {
                "as_of": pa.array([c[0].isoformat() for c in changes]),
                "previous": pa.array([c[1].isoformat() for c in changes]),
                "nik": pa.array([c[2] for c in changes]),
                "village_code": pa.array([c[3] for c in changes]),
                "cause": pa.array([c[4] for c in changes]),
            }
        ),
        path,
    )


def _move(pop: pa.Table, pop_nik: np.ndarray, moved_from: dict[str, str]) -> pa.Table:
    """The population rows of `moved_from`'s residents put in their earlier village."""
    if not moved_from:
        return pop
    mask = np.array([k in moved_from for k in pop_nik])
    for column, part in (("NO_KEC", 2), ("NO_KEL", 3)):
        old = pop.column(column).to_numpy(zero_copy_only=False).astype(object)
        for i in np.flatnonzero(mask):
            old[i] = str(int(moved_from[pop_nik[i]].split(".")[part]))
        pop = pop.set_column(pop.column_names.index(column), column, pa.array(old, pa.string()))
    return pop


def previous_dates(latest: date, months: int = 2) -> list[date]:
    """The earlier monthly dates `write_months` writes, oldest first."""
    return [month_before(latest, k) for k in range(months, 0, -1)]


def ensure_months(scenario, months: int = 2) -> list[MonthFiles]:
    """The earlier monthly extracts of `scenario` (written on first use), oldest first."""
    found = [
        MonthFiles(
            day,
            scenario.out_dir / "history" / day.isoformat() / "population.csv",
            scenario.out_dir / "history" / day.isoformat() / "membership.csv",
        )
        for day in previous_dates(scenario.as_of, months)
    ]
    if (scenario.out_dir / CHANGES_FILE).exists() and all(
        f.population.exists() and f.membership.exists() for f in found
    ):
        return found
    return write_months(scenario, months)
