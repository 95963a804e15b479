"""Stage 2 (probabilistic, Splink) on what an exact NIK join leaves of a generated scenario."""

import json
import math
import time
from pathlib import Path

import duckdb
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pesiar.linkage.names import compact_name_sql, name_agreement_sql, normalised_name_sql
from pesiar.linkage.probabilistic import _resolve_one_to_one, link_probabilistic

N = 30_000
SEED = 11


def evaluate(con: duckdb.DuckDBPyConnection, truth: str, links: str = "prob_links") -> dict:
    """Precision and recall of accepted links against `truth(rid, pid)`, the true pairs.

    `truth` should hold only the true pairs whose two records were both input to
    stage 2; precision counts every accepted link, recall every true pair.
    """
    accepted, correct, true_pairs, review, review_correct = con.execute(f"""
        SELECT
            (SELECT count(*) FROM {links} WHERE band = 'accept'),
            (SELECT count(*) FROM {links} l JOIN {truth} t USING (rid, pid)
                WHERE l.band = 'accept'),
            (SELECT count(*) FROM {truth}),
            (SELECT count(*) FROM {links} WHERE band = 'review'),
            (SELECT count(*) FROM {links} l JOIN {truth} t USING (rid, pid)
                WHERE l.band = 'review')
    """).fetchall()[0]
    return {
        "accepted": accepted,
        "correct": correct,
        "true_pairs": true_pairs,
        "precision": correct / accepted if accepted else 1.0,
        "recall": correct / true_pairs if true_pairs else 1.0,
        "review": review,
        "review_correct": review_correct,
    }


def build_inputs(con: duckdb.DuckDBPyConnection, scenario_dir: Path) -> None:
    """Tables `residents`, `participants` (the stage-1 leftovers), `truth(rid, pid)`
    (true pairs among the leftovers) and `kinds(pid, kind)` from a scenario's files."""
    d = scenario_dir
    con.execute(f"""
        CREATE OR REPLACE TABLE population AS
        SELECT row_number() OVER (ORDER BY nik, name, birth_date) AS rid, *
        FROM (
            SELECT DISTINCT
                NIK AS nik, NO_KK AS kk, NAMA_LGKP AS name,
                CASE JENIS_KLMIN WHEN 'LAKI-LAKI' THEN 'L' ELSE 'P' END AS sex,
                strptime(TGL_LHR, '%d-%m-%Y')::DATE AS birth_date,
                lpad(NO_PROP, 2, '0') || '.' || lpad(NO_KAB, 2, '0') || '.'
                    || lpad(NO_KEC, 2, '0') || '.' || lpad(NO_KEL, 4, '0') AS village_code
            FROM read_csv('{d}/population.csv', delim=';', header=true, all_varchar=true)
        );
        CREATE OR REPLACE TABLE membership AS
        SELECT row_number() OVER (ORDER BY noka) AS pid, *
        FROM (
            SELECT DISTINCT
                NOKA AS noka, NIK AS nik, NO_KK AS kk, NAMA AS name,
                JENIS_KELAMIN AS sex,
                strptime(TGL_LAHIR, '%d/%m/%Y')::DATE AS birth_date,
                substr(KODE_DESA, 1, 2) || '.' || substr(KODE_DESA, 3, 2) || '.'
                    || substr(KODE_DESA, 5, 2) || '.' || substr(KODE_DESA, 7, 4) AS village_code
            FROM read_csv('{d}/membership.csv', delim=',', header=true, all_varchar=true)
        );
        -- stage 1: exact NIK, one participant per NIK
        CREATE OR REPLACE TABLE stage1 AS
        SELECT p.rid, min(m.pid) AS pid
        FROM population p JOIN membership m ON m.nik = p.nik
        GROUP BY p.rid;
        CREATE OR REPLACE TABLE residents AS
        SELECT rid, nik, kk, name, sex, birth_date, village_code FROM population
        WHERE rid NOT IN (SELECT rid FROM stage1);
        CREATE OR REPLACE TABLE participants AS
        SELECT pid, nik, kk, name, sex, birth_date, village_code FROM membership
        WHERE pid NOT IN (SELECT pid FROM stage1);
        CREATE OR REPLACE TABLE kinds AS
        SELECT m.pid, t.kind, t.true_nik
        FROM membership m
        JOIN read_parquet('{d}/truth/participants.parquet') t ON t.noka = m.noka;
        CREATE OR REPLACE TABLE truth AS
        SELECT r.rid, k.pid
        FROM kinds k
        JOIN population p ON p.nik = k.true_nik
        JOIN residents r ON r.rid = p.rid
        JOIN participants q ON q.pid = k.pid
        WHERE k.kind <> 'emigrant';
    """)


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    from pesiar.demo.generator import generate

    base = tmp_path_factory.mktemp("stage2")
    generate(N, SEED, base / "scenario")
    con = duckdb.connect()
    build_inputs(con, base / "scenario")
    started = time.perf_counter()
    result = link_probabilistic(con, "residents", "participants", out_dir=base / "out", seed=1)
    elapsed = time.perf_counter() - started
    yield con, result, elapsed, base
    con.close()


NAME_CASES = [
    ("Muhamad Rizki", "MUHAMMAD RIZKI", "MUHAMMADRIZKI"),
    ("MUHAMMAD RIZKI", "MUHAMMAD RIZKI", "MUHAMMADRIZKI"),
    ("MOHAMMAD RIZKI", "MUHAMMAD RIZKI", "MUHAMMADRIZKI"),
    ("MOH. RIZKI", "MUHAMMAD RIZKI", "MUHAMMADRIZKI"),
    ("MOCH.RIZKI", "MUHAMMAD RIZKI", "MUHAMMADRIZKI"),
    ("M. RIZKI", "MUHAMMAD RIZKI", "MUHAMMADRIZKI"),
    ("SITY AMINAH", "SITI AMINAH", "SITIAMINAH"),
    ("HJ. SITI AMINAH", "SITI AMINAH", "SITIAMINAH"),
    ("H. AHMAD DAHLAN", "AHMAD DAHLAN", "AHMADDAHLAN"),
    ("DRS. H. ABD. RAHMAN", "ABDUL RAHMAN", "ABDULRAHMAN"),
    ("IR. BUDI SANTOSO, M.T.", "BUDI SANTOSO", "BUDISANTOSO"),
    ("DR. RINA WATI", "RINA WATI", "RINAWATI"),
    ("YULIANA, S.PD", "YULIANA", "YULIANA"),
    ("DEWI LESTARI S.E.", "DEWI LESTARI", "DEWILESTARI"),
    ("ANDI PRATAMA S.KOM", "ANDI PRATAMA", "ANDIPRATAMA"),
    ("RATNA A.MD", "RATNA", "RATNA"),
    ("  nur   hasanah ", "NUR HASANAH", "NURHASANAH"),
    ("NURHASANAH", "NURHASANAH", "NURHASANAH"),
    ("MA'RUF AMIN", "MARUF AMIN", "MARUFAMIN"),
    ("SOEKARNO", "SOEKARNO", "SUKARNO"),
    ("ABDUL H.", "ABDUL H", "ABDULH"),
    ("", None, None),
    (None, None, None),
]


def test_name_normalisation():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (raw VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?)", [[raw] for raw, _, _ in NAME_CASES])
    norm = normalised_name_sql("raw")
    rows = con.execute(f"SELECT raw, {norm}, {compact_name_sql(norm)} FROM t").fetchall()
    assert rows == [tuple(case) for case in NAME_CASES]


AGREEMENT_CASES = [
    ("M. PRAKASA", "MARTANI PRAKASA", 1.0),  # M. may stand for any given name in M
    ("M. RIZKI", "MUHAMMAD RIZKI", 1.0),
    ("M. SUAMAH", "MELINDA USAMAH", 1.0),  # and a keying slip in the other word
    ("A. TUAMI", "AMALIA UTAMI", 1.0),
    ("SITI AMINAH", "SITI RAHMAH", 0.5),  # sisters
    ("RINA", "DINA", 0.0),  # twins
    # MUHAMMAD is no initial beyond the first word of two names of several words
    ("MUHAMMAD BAKTIADI SIREGAR", "MARSITO", 0.0),
    ("MUHAMMAD MARTANA", "MUHAMMAD MARIADI", 0.5),
    ("MUHAMMAD", "MARSITO", 0.0),
]


@pytest.mark.parametrize(("left", "right", "agreement"), AGREEMENT_CASES)
def test_name_agreement(left, right, agreement):
    sql = f"SELECT {name_agreement_sql(normalised_name_sql('$1'), normalised_name_sql('$2'))}"
    con = duckdb.connect()
    assert con.execute(sql, [left, right]).fetchall() == [(agreement,)]
    assert con.execute(sql, [right, left]).fetchall() == [(agreement,)]


def test_resolution_is_greedy_one_to_one():
    con = duckdb.connect()
    con.execute("""
        CREATE TABLE predictions AS SELECT *, 'N' || unique_id_l AS nik_l, 'N' || unique_id_l
            AS nik_r, DATE '2019-03-28' AS birth_date_l, DATE '2019-03-28' AS birth_date_r,
            'K' || unique_id_l AS kk_l, 'K' || unique_id_l AS kk_r FROM (VALUES
            ('a_residents', 1, 'b_participants', 10, 0.990, 6.6, 3),
            ('a_residents', 1, 'b_participants', 20, 0.980, 5.6, 3),
            ('a_residents', 2, 'b_participants', 10, 0.970, 5.0, 3),
            ('a_residents', 2, 'b_participants', 20, 0.600, 0.6, 3),
            -- the best score of resident 3, but the names disagree: not before 4-30
            ('a_residents', 3, 'b_participants', 30, 0.999, 10.0, 0),
            ('a_residents', 4, 'b_participants', 30, 0.990, 6.6, 2),
            ('a_residents', 5, 'b_participants', 50, 0.999, 10.0, 0),
            ('a_residents', 6, 'b_participants', 60, 0.400, -0.6, 4)
        ) t(source_dataset_l, unique_id_l, source_dataset_r, unique_id_r,
            match_probability, match_weight, gamma_name)
    """)

    def resolved(population: str | None = None) -> list[tuple]:
        _resolve_one_to_one(con, "predictions", upper=0.95, lower=0.5, population=population)
        return con.execute("SELECT rid, pid, band FROM prob_links ORDER BY rid").fetchall()

    assert resolved() == [
        (1, 10, "accept"),
        (2, 20, "review"),
        (4, 30, "accept"),
        (5, 50, "review"),
    ]
    # Everything but the name agrees on 5-50 (and on 3-30). With the register at hand:
    # 5 has no twin, so the card is hers; 3 has one (another resident, same KK and date).
    con.execute("""
        CREATE TABLE population AS SELECT * FROM (VALUES
            ('K3', DATE '2019-03-28'), ('K3', DATE '2019-03-28'), ('K5', DATE '2019-03-28'),
            ('K5', DATE '2001-01-01')
        ) t(kk, birth_date)
    """)
    assert resolved("population") == [
        (1, 10, "accept"),
        (2, 20, "review"),
        (4, 30, "accept"),
        (5, 50, "accept"),
    ]


def _two_exact_pairs(con: duckdb.DuckDBPyConnection) -> None:
    """Two resident-card pairs alike in everything but the name: one common, one rare.
    `population` is the register around them, where SITI AMINAH is frequent."""
    con.execute("""
        CREATE TABLE residents AS SELECT * FROM (VALUES
            (1, NULL, '1501010101900001', 'SITI AMINAH', 'P', DATE '1990-01-01',
             '15.01.01.2001'),
            (2, NULL, '1501010101900002', 'SUPARMI', 'P', DATE '1990-01-01', '15.01.01.2001')
        ) t(rid, nik, kk, name, sex, birth_date, village_code);
        CREATE TABLE participants AS
            SELECT rid + 10 AS pid, nik, kk, name, sex, birth_date, village_code FROM residents;
        CREATE TABLE population AS SELECT name, kk, birth_date FROM (
            SELECT name FROM residents
            UNION ALL SELECT 'SITI AMINAH' FROM range(500)
            UNION ALL SELECT 'PERSON ' || i FROM range(500) r(i)
        ), (SELECT NULL::VARCHAR AS kk, NULL::DATE AS birth_date);
    """)


def test_common_names_weigh_less_from_the_whole_register(tmp_path):
    weights = {}
    for population in (None, "population"):
        con = duckdb.connect()
        _two_exact_pairs(con)
        link_probabilistic(
            con,
            "residents",
            "participants",
            out_dir=tmp_path / str(population),
            lower=1e-6,
            population=population,
        )
        weights[population] = dict(
            con.execute("SELECT rid, match_weight FROM prob_links").fetchall()
        )
    # From the leftovers alone the two names are equally rare ...
    assert weights[None][1] == pytest.approx(weights[None][2])
    # ... in the register SITI AMINAH is 500 times as common as SUPARMI.
    assert weights["population"][2] - weights["population"][1] == pytest.approx(
        math.log2(501), abs=0.01
    )


@pytest.mark.slow
def test_quality(linked):
    con, result, elapsed, _ = linked
    quality = evaluate(con, "truth")
    print(
        f"\nstage 2 on {N:,} residents: {result.compared:,} pairs scored, "
        f"{result.links:,} accepted, {result.review:,} to review; "
        f"precision {quality['precision']:.4f}, recall {quality['recall']:.4f} "
        f"({quality['correct']:,}/{quality['true_pairs']:,}); {elapsed:.1f} s "
        + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items())
    )
    assert quality["true_pairs"] > 300
    assert quality["precision"] >= 0.99
    assert quality["recall"] >= 0.95
    assert result.links == quality["accepted"]


@pytest.mark.slow
def test_one_to_one_and_bands(linked):
    con, result, _, _ = linked
    total, rids, pids, low, bad_band = con.execute("""
        SELECT count(*), count(DISTINCT rid), count(DISTINCT pid),
            count(*) FILTER (match_probability < 0.5),
            count(*) FILTER (band <> CASE WHEN match_probability >= 0.95
                THEN 'accept' ELSE 'review' END)
        FROM prob_links
    """).fetchall()[0]
    assert total == rids == pids == result.links + result.review
    assert low == bad_band == 0
    assert result.compared >= total


@pytest.mark.slow
def test_emigrants_never_linked(linked):
    con, _, _, _ = linked
    emigrants = con.execute("""
        SELECT count(*) FROM participants JOIN kinds USING (pid) WHERE kind = 'emigrant'
    """).fetchall()[0][0]
    linked_emigrants = con.execute("""
        SELECT count(*) FROM prob_links JOIN kinds USING (pid)
        WHERE kind = 'emigrant' AND band = 'accept'
    """).fetchall()[0][0]
    assert emigrants > 0
    assert linked_emigrants == 0


@pytest.mark.slow
def test_model_saved_and_reloadable(linked):
    from splink import DuckDBAPI, Linker

    con, result, _, _ = linked
    assert result.model_path.name == "model.json"
    model = json.loads(result.model_path.read_text())
    assert model["link_type"] == "link_only"
    names = [c["output_column_name"] for c in model["comparisons"]]
    assert names == ["name", "birth_nik", "sex", "kk", "village"]
    assert set(result.parameters["comparisons"]) == set(names)
    assert 0 < result.parameters["probability_two_random_records_match"] < 0.01
    for levels in result.parameters["comparisons"].values():
        assert all(level["u"] is not None for level in levels if "NIK" not in level["label"])
    # A fresh linker scores with the saved model: one record against itself.
    fresh = duckdb.connect()
    for table in ("a", "b"):
        fresh.execute(f"""
            CREATE TABLE {table} AS SELECT
                1::BIGINT AS unique_id, '1571065007220001' AS nik, '1571061201150003' AS kk,
                'KAMARIA' AS name_norm, 'KAMARIA' AS name_compact, 'KAMARIA' AS name_sorted,
                'KAMARIA' AS name_long, false AS name_initials, 'P' AS sex,
                DATE '2022-07-10' AS birth_date, 2022 AS birth_year,
                '15.71.06.1005' AS village, '15.71.06' AS district,
                '157106500722' AS nik_head, '5007220001' AS nik_tail,
                'KAMA' AS name_key, '15.71' AS regency
        """)
    api = DuckDBAPI(connection=fresh)
    tables = [api.register(t, dataset_display_name=t) for t in ("a", "b")]
    reloaded = Linker(tables, str(result.model_path), log_level=None)
    scored = reloaded.inference.predict().as_record_list()
    assert len(scored) == 1 and scored[0]["match_probability"] > 0.999
    # Splink's working tables and ours are gone from the caller's connection.
    left = con.execute("""
        SELECT list(name) FROM (
            SELECT table_name AS name FROM duckdb_tables()
            UNION ALL SELECT view_name FROM duckdb_views() WHERE NOT internal
        ) WHERE name NOT IN ('population', 'membership', 'stage1', 'residents',
            'participants', 'kinds', 'truth', 'prob_links')
    """).fetchall()[0][0]
    assert not left


@pytest.mark.slow
def test_deterministic(linked):
    con, result, _, base = linked
    first = con.execute("SELECT * FROM prob_links ORDER BY rid, pid").fetchall()
    again = link_probabilistic(con, "residents", "participants", out_dir=base / "again", seed=1)
    second = con.execute("SELECT * FROM prob_links ORDER BY rid, pid").fetchall()
    assert [(*row[:2], row[4]) for row in first] == [(*row[:2], row[4]) for row in second]
    assert again.parameters == result.parameters


def _edited(nik: str, edits: list[tuple[str, int, str]]) -> str:
    for kind, at, digit in edits:
        at %= max(len(nik), 1)
        if kind == "substitute":
            nik = nik[:at] + digit + nik[at + 1 :]
        elif kind == "transpose" and at + 1 < len(nik):
            nik = nik[:at] + nik[at + 1] + nik[at] + nik[at + 2 :]
        elif kind == "insert":
            nik = nik[:at] + digit + nik[at:]
        elif kind == "delete":
            nik = nik[:at] + nik[at + 1 :]
    return nik


@given(
    nik=st.from_regex(r"\A[1-9][0-9]{15}\Z"),
    edits=st.lists(
        st.tuples(
            st.sampled_from(["substitute", "transpose", "insert", "delete"]),
            st.integers(0, 17),
            st.sampled_from("0123456789"),
        ),
        max_size=4,
    ),
    same_date=st.sampled_from([True, False, None]),
    blank=st.sampled_from([None, "left", "right"]),
)
# Two slips of one kind each, the shapes the shortcuts could get wrong.
@example("1502054101900017", [("transpose", 2, "0"), ("transpose", 8, "0")], True, None)
@example("1502054101900017", [("transpose", 2, "0"), ("substitute", 9, "5")], True, None)
@example("1502054101900017", [("delete", 3, "0"), ("insert", 6, "2")], False, None)
@example("1502054101900017", [("substitute", 3, "9"), ("substitute", 6, "9")], None, None)
@settings(max_examples=300, deadline=None)
def test_nik_levels_keep_their_meaning_with_the_cheap_tests_first(nik, edits, same_date, blank):
    """The birth-and-NIK levels test Hamming before the edit distance; they must still say
    what they say: within k edits (Damerau-Levenshtein), counting NIKs of one length more
    than 4 places apart as far, and a NULL as not within."""
    from pesiar.linkage.comparisons import nik_within

    other = _edited(nik, edits)
    left, right = (None if blank == "left" else nik), (None if blank == "right" else other)
    given_sql = {True: "true", False: "false", None: "NULL::BOOLEAN"}[same_date]
    near = (
        "(CASE WHEN length(nik_l) = length(nik_r) THEN hamming(nik_l, nik_r) <= 4 "
        "ELSE abs(length(nik_l) - length(nik_r)) <= 2 END)"
    )
    con = duckdb.connect()
    for k in (1, 2):
        cheap, plain = con.execute(
            f"SELECT {nik_within(k, given_sql)}, coalesce({given_sql} AND {near}"
            f" AND damerau_levenshtein(nik_l, nik_r) <= {k}, false)"
            " FROM (SELECT ?::VARCHAR AS nik_l, ?::VARCHAR AS nik_r)",
            [left, right],
        ).fetchone()
        assert cheap == plain, (left, right, k)
