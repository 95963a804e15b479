"""Every file of a generated 30,000-resident scenario imports, and what is accepted agrees with
the generator's truth (truth/residents.parquet, truth/participants.parquet).

The generator writes valid data with the noise real extracts have: exact duplicate rows, BPJS
NIK typos and blanks, free-text segments, four-part Dukcapil village codes. The importer must
reject exactly the duplicates, keep the mistyped NIKs of participants as warnings, and read
every value into canonical form.
"""

import csv
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from openpyxl import load_workbook

from pesiar.demo.generator import generate
from pesiar.demo.generator.scenario import Scenario
from pesiar.regions.nik import ERROR, parse
from pesiar.registers.models import Finding, Snapshot
from pesiar.registers.services import import_register
from snapshot_rows import accepted_rows

N = 30_000
SEED = 1
KINDS = ("population", "membership", "welfare", "stunting", "pregnancy", "layoffs", "workers")
SHARED = {"NIK_SHARED", "NOKA_SHARED", "CHILD_NIK_SHARED"}

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("data_dir")]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    return generate(N, SEED, tmp_path_factory.mktemp("scenario") / "jambi")


@pytest.fixture(scope="module")
def residents(scenario) -> dict[str, dict]:
    rows = pq.read_table(scenario.truth_path("residents")).to_pylist()
    return {r["nik"]: r for r in rows}


@pytest.fixture(scope="module")
def participants(scenario) -> dict[str, dict]:
    rows = pq.read_table(scenario.truth_path("participants")).to_pylist()
    return {r["noka"]: r for r in rows}


def source_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: text}) for every data row, as a spreadsheet numbers them."""
    if path.suffix == ".xlsx":
        wb = load_workbook(path, read_only=True)
        rows = list(wb.worksheets[0].iter_rows(values_only=True))
        wb.close()
        header = rows[0]
        return [(i, dict(zip(header, r, strict=True))) for i, r in enumerate(rows[1:], start=2)]
    text = path.read_text(encoding="utf-8")
    delimiter = ";" if text.split("\n", 1)[0].count(";") else ","
    reader = csv.DictReader(text.splitlines(), delimiter=delimiter)
    return [(i, row) for i, row in enumerate(reader, start=2)]


class Imported:
    def __init__(self, kind: str, scenario: Scenario):
        self.path = scenario.path(kind)
        self.result = import_register(kind, self.path, scenario.as_of)
        self.snapshot = Snapshot.objects.get(pk=self.result.snapshot_id)
        self.accepted = accepted_rows(self.snapshot)
        self.rejects: list[dict[str, str]] = []
        if self.snapshot.rejects_file.exists():
            with self.snapshot.rejects_file.open(encoding="utf-8", newline="") as fh:
                self.rejects = list(csv.DictReader(fh))
        self.by_line = {r["line"]: r for r in self.accepted}


# --- 1. every file imports, every row accounted for -----------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_generated_file_imports(scenario, kind):
    imp = Imported(kind, scenario)
    result, source = imp.result, source_rows(imp.path)
    assert result.rows_read == result.accepted + result.rejected
    assert result.rows_read == scenario.rows[kind] == len(source)
    assert len(imp.accepted) == result.accepted == imp.snapshot.accepted
    assert len(imp.rejects) == result.rejected

    # Each line is either accepted or rejected, once.
    accepted_lines = [r["line"] for r in imp.accepted]
    rejected_lines = [int(r["line"]) for r in imp.rejects]
    assert sorted(accepted_lines + rejected_lines) == [line for line, _ in source]

    # The only rows rejected are exact copies of an earlier row, each naming that row.
    values_at = {line: tuple(row.values()) for line, row in source}
    first_seen: dict[tuple, int] = {}
    expected_dups = {}
    for line, values in values_at.items():
        if values in first_seen:
            expected_dups[line] = first_seen[values]
        else:
            first_seen[values] = line
    assert {r["reason"] for r in imp.rejects} <= {"DUPLICATE_ROW"}
    assert {int(r["line"]): r["message"] for r in imp.rejects} == {
        line: f"exact duplicate of line {first}; kept once" for line, first in expected_dups.items()
    }
    if kind in ("population", "membership"):
        assert 0 < len(expected_dups) < 0.01 * len(source)
    # The rejects file keeps the original values under their original names.
    header = list(source[0][1])
    for reject in imp.rejects:
        original = values_at[int(reject["line"])]
        assert tuple(reject[h] or None for h in header) == tuple(v or None for v in original)
    # Every original of a duplicate is accepted.
    assert set(expected_dups.values()) <= set(imp.by_line)
    assert result.reasons.get("DUPLICATE_ROW", {}).get("rows", 0) == len(expected_dups)


# --- cross-checks with the truth ------------------------------------------------------


def test_population_matches_the_truth(scenario, residents):
    imp = Imported("population", scenario)
    accepted = imp.accepted
    niks = [r["nik"] for r in accepted]
    # Distinct NIKs are exactly the truth's residents (alive and deceased), once each.
    assert len(niks) == len(set(niks))
    assert set(niks) == set(residents)
    for row in accepted:
        truth = residents[row["nik"]]
        assert row["sex"] == truth["sex"], row
        assert row["birth_date"] == truth["birth_date"], row
        assert row["village_code"] == truth["village_code"], row
        assert row["kk"] == truth["kk"], row
        assert (row["death_date"] is None) == truth["alive"], row
        assert re.fullmatch(r"15\.\d{2}\.\d{2}\.\d{4}", row["village_code"])
        assert not {w for w in row["warnings"]} & {"NIK_SHARED", "NIK_SEX_MISMATCH"}, row
    # The raw file spells sex LAKI-LAKI/PEREMPUAN, dates DD-MM-YYYY, the village in 4 parts.
    source = dict(source_rows(imp.path))
    for row in accepted[:: len(accepted) // 500]:
        raw = source[row["line"]]
        assert row["sex"] == {"LAKI-LAKI": "L", "PEREMPUAN": "P"}[raw["JENIS_KLMIN"]]
        assert row["birth_date"] == datetime.strptime(raw["TGL_LHR"], "%d-%m-%Y").date()
        parts = (raw["NO_PROP"], raw["NO_KAB"], raw["NO_KEC"], raw["NO_KEL"])
        assert row["village_code"] == ".".join(
            p.zfill(w) for p, w in zip(parts, (2, 2, 2, 4), strict=True)
        )
        assert row["name"] == raw["NAMA_LGKP"] and row["family_relation"] == raw["STAT_HBKEL"]


def test_membership_matches_the_truth(scenario, residents, participants):
    imp = Imported("membership", scenario)
    as_of = scenario.as_of
    source = dict(source_rows(imp.path))
    nokas = [r["noka"] for r in imp.accepted]
    assert len(nokas) == len(set(nokas)) and set(nokas) == set(participants)
    impossible = blanks = typos = 0
    for row in imp.accepted:
        truth, raw = participants[row["noka"]], source[row["line"]]
        assert row["status"] == truth["status"]  # ACTIVE / INACTIVE from AKTIF / NONAKTIF
        if truth["kind"] != "emigrant":
            assert row["segment"] == residents[truth["true_nik"]]["segment"], (row, raw)
        assert row["segment"] in ("PBI_APBN", "PBI_APBD", "PPU", "PBPU", "BP")
        assert row["birth_date"] == datetime.strptime(raw["TGL_LAHIR"], "%d/%m/%Y").date()
        assert row["village_code"] == ".".join(
            (
                raw["KODE_DESA"][:2],
                raw["KODE_DESA"][2:4],
                raw["KODE_DESA"][4:6],
                raw["KODE_DESA"][6:],
            )
        )
        assert row["class"] == int(raw["KELAS"])
        codes = set(row["warnings"])
        if truth["nik_noise"] is None:
            assert row["nik"] == truth["true_nik"]
            assert not {c for c in codes if c.startswith("NIK_")} - {
                "NIK_BIRTHDATE_MISMATCH",
                "NIK_SHARED",
            }, row
        elif truth["nik_noise"] == "blank":
            blanks += 1
            assert row["nik"] is None and "NIK_BLANK" in codes
        else:
            typos += 1
            recorded = raw["NIK"]
            assert recorded != truth["true_nik"]
            errors = {
                p.code
                for p in parse(recorded, as_of=as_of, birth_date=row["birth_date"]).problems
                if p.severity == ERROR
            }
            # Kept as typed, for probabilistic linkage; an impossible NIK is only a warning.
            assert row["nik"] == recorded
            if errors:
                impossible += 1
                assert errors <= codes, (row, errors)
    assert impossible > 20 and blanks > 100 and typos > impossible
    # Reason counts also count the warnings of rejected rows (here: copies of a blank one).
    copies = sum(
        "NIK_BLANK" in imp.by_line[int(r["message"].split("line ")[1].split(";")[0])]["warnings"]
        for r in imp.rejects
    )
    assert imp.result.reasons["NIK_BLANK"] == {"severity": "warning", "rows": blanks + copies}
    assert imp.result.reasons["NIK_DATE_IMPOSSIBLE"]["severity"] == "warning"
    # No participant row is rejected for its NIK.
    assert {r["reason"] for r in imp.rejects} == {"DUPLICATE_ROW"}


def test_social_lists_match_the_truth(scenario, residents):
    welfare = Imported("welfare", scenario)
    for row in welfare.accepted:
        truth = residents[row["nik"]]
        assert (row["decile"], row["village_code"], row["kk"]) == (
            truth["decile"],
            truth["village_code"],
            truth["kk"],
        )
    assert {r["nik"] for r in welfare.accepted} == {
        n for n, r in residents.items() if r["in_welfare_list"]
    }

    workers = Imported("workers", scenario)
    assert {r["nik"]: r["employer_code"] for r in workers.accepted} == {
        n: r["employer_code"]
        for n, r in residents.items()
        if r["formal_worker"] and r["layoff_date"] is None
    }

    layoffs = Imported("layoffs", scenario)
    assert layoffs.accepted
    for row in layoffs.accepted:
        assert row["layoff_date"] == residents[row["nik"]]["layoff_date"]  # from DD/MM/YYYY

    pregnancy = Imported("pregnancy", scenario)
    assert pregnancy.accepted
    for row in pregnancy.accepted:
        assert residents[row["nik"]]["pregnant"] and residents[row["nik"]]["sex"] == "P"
        assert row["expected_delivery_date"] > scenario.as_of

    stunting = Imported("stunting", scenario)
    newborns = [r for r in stunting.accepted if r["child_nik"] is None]
    assert newborns and all("NIK_BLANK" not in r["warnings"] for r in newborns)
    source = dict(source_rows(stunting.path))
    for row in stunting.accepted:
        raw = source[row["line"]]
        assert row["birth_date"] == raw["birth_date"].date()  # a real date cell
        assert row["sex"] == raw["sex"] and row["village_code"] == raw["village_code"]
        if row["child_nik"] is not None:
            assert residents[row["child_nik"]]["birth_date"] == row["birth_date"]
            assert residents[row["child_nik"]]["stunted"]


# --- 7. findings ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["population", "membership"])
def test_findings_per_village_sum_to_the_reason_counts(scenario, kind):
    imp = Imported(kind, scenario)
    findings = list(Finding.objects.unscoped(reason="test").filter(snapshot=imp.snapshot))
    assert findings
    per_code: Counter = Counter()
    severity: dict[str, str] = {}
    for f in findings:
        per_code[f.code] += f.rows
        assert severity.setdefault(f.code, f.severity) == f.severity
    assert dict(per_code) == {c: info["rows"] for c, info in imp.result.reasons.items()}
    assert severity == {c: info["severity"] for c, info in imp.result.reasons.items()}
    assert imp.snapshot.summary["reasons"] == imp.result.reasons

    # Recomputed per village: warnings of the accepted rows, plus each duplicate (an error
    # in its original's village, carrying the original's own warnings).
    expected: Counter = Counter()
    for row in imp.accepted:
        for code in row["warnings"]:
            expected[(row["village_code"] or "", code, "warning")] += 1
    for reject in imp.rejects:
        first = int(reject["message"].split("line ")[1].split(";")[0])
        original = imp.by_line[first]
        village = original["village_code"] or ""
        expected[(village, "DUPLICATE_ROW", "error")] += 1
        for code in set(original["warnings"]) - SHARED:
            expected[(village, code, "warning")] += 1
    actual = Counter({(f.village_code, f.code, f.severity): f.rows for f in findings})
    assert actual == expected


def test_rejects_and_parquet_line_order(scenario):
    imp = Imported("population", scenario)
    lines = [r["line"] for r in imp.accepted]
    assert lines == sorted(lines)
    assert [int(r["line"]) for r in imp.rejects] == sorted(int(r["line"]) for r in imp.rejects)
    assert imp.snapshot.as_of == scenario.as_of == date(2024, 6, 1)
