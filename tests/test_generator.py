"""The synthetic Jambi scenario: reproducible, calibrated, consistent with its truth, noisy.

One 30,000-resident scenario is generated per module and shared; the figures it must show
are defined in shared/design/REGISTERS.md. Everything is recomputed from the written files.
"""

import csv
import hashlib
import io
import json
import re
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from pesiar.demo.generator import generate
from pesiar.regions.nik import ERROR, check_consistency, parse, parse_kk

N = 30_000
SEED = 1
AS_OF = date(2024, 6, 1)
MERANGIN = "15.02"
DUSUN_BARU = "15.02.05.1002"
SUNGAI_JERING = "15.02.17.2006"
# BPJS spellings of the self-paying segment (note "PBPU PEMDA" is PBI APBD, not PBPU).
PBPU_TEXTS = ("PBPU", "MANDIRI", "PBPU/MANDIRI")
PREMIUM = {1: 150_000, 2: 100_000, 3: 35_000}
STUNTING_COLUMNS = (
    "child_nik",
    "child_name",
    "birth_date",
    "sex",
    "mother_nik",
    "kk",
    "village_code",
)
# The Dukcapil village as PP.RR.DD.VVVV from its four (unpadded) numeric parts.
POP_VILLAGE = (
    "lpad(NO_PROP, 2, '0') || '.' || lpad(NO_KAB, 2, '0') || '.' || "
    "lpad(NO_KEC, 2, '0') || '.' || lpad(NO_KEL, 4, '0')"
)


@pytest.fixture(scope="module")
def out(tmp_path_factory) -> Path:
    out_dir = tmp_path_factory.mktemp("jambi") / f"jambi-{N}-{SEED}"
    generate(N, SEED, out_dir)
    return out_dir


@pytest.fixture(scope="module")
def db(out):
    """DuckDB views over the written files, every CSV column read as text."""
    con = duckdb.connect()

    def csv_view(name: str, file: str, delim: str) -> None:
        path = str(out / file)
        con.execute(
            f"create view {name} as select * from read_csv('{path}', delim='{delim}', "
            "header=true, quote='\"', all_varchar=true)"
        )

    csv_view("pop", "population.csv", ";")
    csv_view("mem", "membership.csv", ",")
    csv_view("workers", "workers.csv", ",")
    csv_view("vil", "truth/villages.csv", ",")
    con.execute(f"create view res as select * from '{out / 'truth/residents.parquet'}'")
    con.execute(f"create view par as select * from '{out / 'truth/participants.parquet'}'")
    yield con
    con.close()


def scalar(con, sql: str):
    return con.execute(sql).fetchone()[0]


def read_truth(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def sha256_of_tree(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def age_years(birth: str) -> str:
    return f"(date '{AS_OF.isoformat()}' - {birth}) / 365.25"


# --- 1. determinism ------------------------------------------------------------------


def test_same_seed_and_size_give_identical_bytes(out, tmp_path):
    # At least a second later, so that a clock reading leaking into any file shows.
    written = (out / "stunting.xlsx").stat().st_mtime
    time.sleep(max(0.0, written + 1.1 - time.time()))
    again = tmp_path / "again"
    generate(N, SEED, again)
    first, second = sha256_of_tree(out), sha256_of_tree(again)
    expected = {
        "population.csv",
        "membership.csv",
        "welfare.csv",
        "stunting.xlsx",
        "pregnancy.csv",
        "layoffs.csv",
        "workers.csv",
        "scenario.json",
        "truth/residents.parquet",
        "truth/participants.parquet",
        "truth/villages.csv",
        "truth/regencies.csv",
    }
    assert set(first) == expected  # no temporary files left behind either
    assert first == second


def test_another_seed_gives_another_population(out, tmp_path):
    other = tmp_path / "other"
    generate(N, SEED + 1, other)
    assert (other / "population.csv").read_bytes() != (out / "population.csv").read_bytes()
    # ...but the same calibrated figures.
    assert_calibrated(other, N)


# --- 2. calibration ------------------------------------------------------------------


def assert_calibrated(out_dir: Path, population: int) -> None:
    regencies = {r["code"]: r for r in read_truth(out_dir / "truth/regencies.csv")}
    assert len(regencies) == 11
    m = regencies[MERANGIN]
    assert m["name"] == "Kabupaten Merangin"
    assert float(m["coverage_pct"]) == 78.42
    assert float(m["active_pct"]) == 55.05
    assert int(m["rank_in_province"]) == 10
    # Rank 10 of 11 recomputed: exactly nine regencies have a higher active share.
    share = {c: int(r["active"]) / int(r["population"]) for c, r in regencies.items()}
    assert sum(s > share[MERANGIN] for s in share.values()) == 9
    expected_pop = 387_000 * population / 3_710_000
    assert abs(int(m["population"]) - expected_pop) <= 0.01 * expected_pop
    assert sum(int(r["population"]) for r in regencies.values()) == population

    villages = read_truth(out_dir / "truth/villages.csv")
    assert len(villages) == 1585
    assert all(int(v["population"]) > 0 for v in villages)
    assert sum(int(v["population"]) for v in villages) == population

    merangin = {v["code"]: v for v in villages if v["code"].startswith(MERANGIN + ".")}
    lowest, highest = merangin.pop(DUSUN_BARU), merangin.pop(SUNGAI_JERING)
    assert lowest["name"] == "Dusun Baru" and highest["name"] == "Sungai Jering"
    assert float(lowest["active_pct"]) == 48.28
    assert float(highest["active_pct"]) == 79.54
    others = [float(v["active_pct"]) for v in merangin.values()]
    assert len(others) > 100
    # Strictly, even as displayed to two decimals.
    assert min(others) > 48.28 and max(others) < 79.54

    # A regency's figures are the sum of its villages'.
    for code, r in regencies.items():
        mine = [v for v in villages if v["code"].startswith(code + ".")]
        for col in ("population", "registered", "active"):
            assert int(r[col]) == sum(int(v[col]) for v in mine), (code, col)


def test_calibrated_figures(out):
    assert_calibrated(out, N)


def test_calibrated_figures_hold_at_another_size(tmp_path):
    generate(45_000, 7, tmp_path)
    assert_calibrated(tmp_path, 45_000)


# --- 3. truth consistent with the files -----------------------------------------------


def test_village_truth_recomputed_from_files(db):
    truth = {
        code: (int(p), int(r), int(a), float(cov), float(act))
        for code, p, r, a, cov, act in db.execute(
            "select code, population, registered, active, coverage_pct, active_pct from vil"
        ).fetchall()
    }
    population = dict(
        db.execute(
            f"select {POP_VILLAGE}, count(distinct NIK) from pop where TGL_MATI is null "
            "group by all"
        ).fetchall()
    )
    counts = {
        code: (int(r), int(a))
        for code, r, a in db.execute(
            "select village_code, "
            "count(*) filter (where status in ('ACTIVE', 'INACTIVE')), "
            "count(*) filter (where status = 'ACTIVE') from res group by all"
        ).fetchall()
    }
    assert set(population) == set(truth)
    for code, (pop, reg, act, cov_pct, act_pct) in truth.items():
        assert population[code] == pop, code
        assert counts[code] == (reg, act), code
        # Percentages rounded half-up to two decimals.
        assert cov_pct == int(10000 * reg / pop + 0.5) / 100, code
        assert act_pct == int(10000 * act / pop + 0.5) / 100, code


def test_residents_truth_matches_registers(db):
    # The living residents of the truth are exactly the living NIKs of the register.
    missing = scalar(
        db,
        "select count(*) from ((select nik from res where alive) "
        "except (select NIK from pop where TGL_MATI is null))",
    )
    extra = scalar(
        db,
        "select count(*) from ((select NIK from pop where TGL_MATI is null) "
        "except (select nik from res where alive))",
    )
    assert (missing, extra) == (0, 0)
    # Registered means holding a membership record; its status decides active.
    bad = scalar(
        db,
        "select count(*) from res where alive and "
        "((noka is not null) <> (status in ('ACTIVE', 'INACTIVE')))",
    )
    assert bad == 0
    mismatched = scalar(
        db,
        "select count(*) from par join (select distinct NOKA, STATUS_PESERTA from mem) m "
        "on m.NOKA = par.noka where (par.status = 'ACTIVE') <> (m.STATUS_PESERTA = 'AKTIF')",
    )
    assert mismatched == 0
    resident_vs_card = scalar(
        db,
        "select count(*) from res join par on par.noka = res.noka where res.alive "
        "and (res.status = 'ACTIVE') <> (par.status = 'ACTIVE')",
    )
    assert resident_vs_card == 0
    assert scalar(db, "select count(distinct noka) from par") == scalar(
        db, "select count(*) from par"
    )


# --- 4. NIK and KK numbers -----------------------------------------------------------


def test_population_niks_are_valid_and_unique(db):
    rows = db.execute("select distinct NIK, JENIS_KLMIN, TGL_LHR from pop").fetchall()
    assert len(rows) == scalar(db, "select count(*) from res")
    sex_match = date_mismatch = 0
    for nik, sex_text, birth_text in rows:
        recorded = datetime.strptime(birth_text, "%d-%m-%Y").date()
        result = parse(nik, as_of=AS_OF, birth_date=recorded)
        errors = [p for p in result.problems if p.severity == ERROR]
        assert not errors, (nik, errors)
        assert result.district_code.startswith("15.")
        sex = {"LAKI-LAKI": "L", "PEREMPUAN": "P"}[sex_text]
        sex_match += result.sex == sex
        codes = {p.code for p in check_consistency(nik, sex, recorded)}
        date_mismatch += "NIK_BIRTHDATE_MISMATCH" in codes
    assert sex_match >= 0.99 * len(rows)
    # The generator keys ~0.4% of NIK birth dates differently from the recorded date.
    assert 0 < date_mismatch < 0.01 * len(rows)

    # Distinct residents never share a NIK: only exact duplicate rows repeat one.
    assert (
        scalar(
            db,
            "select count(*) from (select NIK from (select distinct * from pop) "
            "group by NIK having count(*) > 1)",
        )
        == 0
    )


def test_family_card_numbers(db):
    kks = [k for (k,) in db.execute("select distinct NO_KK from pop").fetchall()]
    assert len(kks) > 5000
    for kk in kks:
        assert re.fullmatch(r"\d{16}", kk), kk
        assert parse_kk(kk).valid, kk
    # Everyone on one card lives in one village.
    assert (
        scalar(
            db,
            f"select max(n) from (select count(distinct {POP_VILLAGE}) n from pop group by NO_KK)",
        )
        == 1
    )


# --- 5. noise ------------------------------------------------------------------------


def test_nik_typos_and_blanks(db):
    total = scalar(db, "select count(*) from mem")
    rows = db.execute(
        "select par.true_nik, m.NIK, par.nik_noise from par "
        "join (select distinct NOKA, NIK from mem) m on m.NOKA = par.noka"
    ).fetchall()
    typos = [(t, r) for t, r, _ in rows if r is not None and r != t]
    blanks = [t for t, r, _ in rows if r is None]
    # The truth labels exactly the rows whose NIK was damaged, and how.
    for true, recorded, noise in rows:
        expected = None if recorded == true else "blank" if recorded is None else "typo"
        assert noise == expected, (true, recorded, noise)

    typo_rows = scalar(
        db,
        "select count(*) from mem join par on par.noka = mem.NOKA where mem.NIK <> par.true_nik",
    )
    assert 0.01 * total <= typo_rows <= 0.03 * total
    assert 0.005 * total <= len(blanks) <= 0.03 * total

    swaps = 0
    for true, recorded in typos:
        assert re.fullmatch(r"\d{16}", recorded)
        diff = [i for i in range(16) if true[i] != recorded[i]]
        assert 1 <= len(diff) <= 2, (true, recorded)
        if len(diff) == 2 and diff[1] == diff[0] + 1:
            i = diff[0]
            swaps += true[i] == recorded[i + 1] and true[i + 1] == recorded[i]
    assert swaps > 0


def test_name_variants(db):
    variants = scalar(
        db, r"select count(*) from mem where regexp_matches(NAMA, '^(MUHAMAD|MOH\.|SITY) ')"
    )
    assert variants > 0
    assert (
        scalar(
            db, r"select count(*) from pop where regexp_matches(NAMA_LGKP, '(MUHAMAD|MOH\.|SITY)')"
        )
        == 0
    )
    # Names not marked as variants are spelled exactly as Dukcapil spells them.
    same, different = db.execute(
        "select count(*) filter (where m.NAMA = p.NAMA_LGKP), "
        "count(*) filter (where m.NAMA <> p.NAMA_LGKP) from par "
        "join (select distinct NOKA, NAMA from mem) m on m.NOKA = par.noka "
        "join (select distinct NIK, NAMA_LGKP from pop) p on p.NIK = par.true_nik "
        "where not par.name_variant"
    ).fetchone()
    assert same > 0 and different == 0
    flagged = scalar(
        db,
        "select count(*) from par join (select distinct NOKA, NAMA from mem) m "
        "on m.NOKA = par.noka join (select distinct NIK, NAMA_LGKP from pop) p "
        "on p.NIK = par.true_nik where par.name_variant and m.NAMA <> p.NAMA_LGKP",
    )
    total = scalar(db, "select count(*) from par")
    assert 0.05 * total <= flagged <= 0.15 * total


@pytest.mark.parametrize(("view", "key"), [("pop", "NIK"), ("mem", "NOKA")])
def test_exact_duplicate_rows(db, view, key):
    total = scalar(db, f"select count(*) from {view}")
    distinct = scalar(db, f"select count(*) from (select distinct * from {view})")
    assert 0 < total - distinct < 0.01 * total
    # A repeated key is always a repeated row.
    assert scalar(db, f"select count(distinct {key}) from {view}") == distinct


def test_deceased_still_listed(db):
    dead = scalar(db, "select count(distinct NIK) from pop where TGL_MATI is not null")
    alive = scalar(db, "select count(distinct NIK) from pop where TGL_MATI is null")
    assert alive == N
    assert 0 < dead < 0.02 * N
    # Their death dates are real dates before the snapshot.
    deaths = [
        datetime.strptime(d, "%d-%m-%Y").date()
        for (d,) in db.execute("select TGL_MATI from pop where TGL_MATI is not null").fetchall()
    ]
    assert all(d < AS_OF for d in deaths)
    still_active = scalar(
        db,
        "select count(distinct m.NIK) from mem m join pop p on p.NIK = m.NIK "
        "where p.TGL_MATI is not null and m.STATUS_PESERTA = 'AKTIF'",
    )
    assert still_active > 0


def test_participants_in_another_village(db):
    rows = db.execute(
        "select par.other_village, m.KODE_DESA <> replace(p.village, '.', '') from par "
        "join (select distinct NOKA, KODE_DESA from mem) m on m.NOKA = par.noka "
        f"join (select distinct NIK, {POP_VILLAGE} village from pop) p "
        "on p.NIK = par.true_nik"
    ).fetchall()
    differs = sum(d for _, d in rows)
    assert 0.015 * len(rows) <= differs <= 0.045 * len(rows)
    # The truth flag says exactly which ones.
    assert all(flag == d for flag, d in rows)


def test_emigrant_participants(db):
    total = scalar(db, "select count(*) from par")
    emigrants = scalar(db, "select count(*) from par where kind = 'emigrant'")
    assert 0.003 * total < emigrants < 0.03 * total
    in_population = scalar(
        db,
        "select count(*) from par where kind = 'emigrant' and true_nik in (select NIK from pop)",
    )
    assert in_population == 0
    # Every other participant is somebody in the population register.
    orphans = scalar(
        db,
        "select count(*) from par where kind <> 'emigrant' "
        "and true_nik not in (select NIK from pop)",
    )
    assert orphans == 0


# --- 6. plausible structure -----------------------------------------------------------


def test_age_sex_and_household_structure(db):
    under15, over60, female = db.execute(
        f"select avg(({age_years('birth_date')} < 15)::int), "
        f"avg(({age_years('birth_date')} >= 60)::int), avg((sex = 'P')::int) "
        "from res where alive"
    ).fetchone()
    assert 0.20 <= under15 <= 0.32
    assert 0.07 <= over60 <= 0.16
    assert 0.47 <= female <= 0.53
    card_size = scalar(
        db,
        "select avg(n) from (select count(distinct NIK) n from pop "
        "where TGL_MATI is null group by NO_KK)",
    )
    assert 3.0 <= card_size <= 4.5


def test_segment_mix(db):
    shares = dict(
        db.execute(
            "select segment, count(*) / sum(count(*)) over () from res "
            "where status in ('ACTIVE', 'INACTIVE') group by all"
        ).fetchall()
    )
    assert set(shares) <= {"PBI_APBN", "PBI_APBD", "PPU", "PBPU", "BP"}
    assert 0.30 <= shares["PBI_APBN"] + shares["PBI_APBD"] <= 0.60
    assert shares["PBPU"] > 0.10
    assert shares["PPU"] > 0.10


def test_arrears_of_inactive_self_payers(db):
    texts = ", ".join(f"'{t}'" for t in PBPU_TEXTS)
    rows = db.execute(
        "select m.KELAS, m.KETERANGAN_NONAKTIF, m.BULAN_TUNGGAK, m.JML_TUNGGAKAN from mem m "
        "join par on par.noka = m.NOKA "
        f"where m.SEGMEN in ({texts}) and m.STATUS_PESERTA = 'NONAKTIF' "
        "and par.kind <> 'deceased'"
    ).fetchall()
    assert len(rows) > 100
    classes = set()
    for klass, reason, months, amount in rows:
        assert reason == "ARREARS"
        assert int(months) > 0
        assert int(amount) == int(months) * PREMIUM[int(klass)]
        classes.add(int(klass))
    assert classes == {1, 2, 3}
    # Only inactive self-payers owe arrears.
    others = scalar(
        db,
        "select count(*) from mem where (BULAN_TUNGGAK is not null "
        "or KETERANGAN_NONAKTIF = 'ARREARS') "
        f"and not (SEGMEN in ({texts}) and STATUS_PESERTA = 'NONAKTIF')",
    )
    assert others == 0


def test_poor_households_are_less_often_covered(db):
    poor, rich = db.execute(
        "select avg((status = 'NOT_REGISTERED')::int) filter (where decile <= 4), "
        "avg((status = 'NOT_REGISTERED')::int) filter (where decile >= 7) "
        "from res where alive"
    ).fetchone()
    assert poor > rich > 0


def test_some_formal_workers_are_not_ppu(db):
    total, not_ppu, unknown = db.execute(
        "select count(*), count(*) filter (where not res.ppu_enrolled), "
        "count(*) filter (where res.nik is null or not res.formal_worker) "
        "from workers w left join res on res.nik = w.nik"
    ).fetchone()
    assert unknown == 0
    assert 0 < not_ppu < 0.5 * total


def test_stunting_workbook(out, db):
    wb = load_workbook(out / "stunting.xlsx", read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert rows[0] == STUNTING_COLUMNS
    body = [dict(zip(STUNTING_COLUMNS, r, strict=True)) for r in rows[1:]]
    assert len(body) > 100
    population = {nik for (nik,) in db.execute("select distinct NIK from pop").fetchall()}
    newborns = [r for r in body if r["child_nik"] is None]
    assert newborns
    assert all(r["mother_nik"] in population for r in newborns)
    assert all(r["child_nik"] in population for r in body if r["child_nik"] is not None)
    for r in body:
        born = r["birth_date"]
        assert isinstance(born, datetime), born  # a real date cell, not text
        assert AS_OF - timedelta(days=5 * 366) < born.date() < AS_OF
        assert r["sex"] in ("L", "P")
        assert re.fullmatch(r"15\.\d{2}\.\d{2}\.\d{4}", r["village_code"])


# --- 7. the command --------------------------------------------------------------------


def test_generate_command(tmp_path):
    stdout = io.StringIO()
    target = tmp_path / "cli"
    call_command(
        "generate", "--population", "30000", "--seed", "3", "--out", str(target), stdout=stdout
    )
    printed = stdout.getvalue()
    manifest = json.loads((target / "scenario.json").read_text())
    assert manifest["population"] == 30_000 and manifest["seed"] == 3
    rows = manifest["rows"]
    assert set(rows) == {
        "population",
        "membership",
        "welfare",
        "stunting",
        "pregnancy",
        "layoffs",
        "workers",
    }
    for kind, count in rows.items():
        file = target / manifest["files"][kind]
        if file.suffix == ".xlsx":
            wb = load_workbook(file, read_only=True)
            lines = sum(1 for _ in wb.worksheets[0].iter_rows()) - 1
            wb.close()
        else:
            lines = len(file.read_text(encoding="utf-8").splitlines()) - 1
        assert count == lines > 0, kind
        assert re.search(rf"^{kind}\s+{count:,} rows", printed, re.MULTILINE), kind
    assert "30,000 residents" in printed


def test_generate_command_refuses_a_tiny_population(tmp_path):
    with pytest.raises(CommandError, match="30,000"):
        call_command("generate", "--population", "100", "--out", str(tmp_path / "tiny"))
