"""The map on Spark (local[2]) against the map on DuckDB, on the 30,000-resident scenario."""

from datetime import date

import duckdb
import pytest

from pesiar.coverage.models import Indicator
from pesiar.demo.generator import generate
from pesiar.linkage import spark_sql
from pesiar.linkage.models import LinkRun, ReviewItem
from pesiar.linkage.pipeline import MapError, run_map
from pesiar.linkage.spark import java_missing
from pesiar.registers.services import import_register

AS_OF = date(2024, 6, 1)
MASTER = "local[2]"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(java_missing() is not None, reason=java_missing() or ""),
]


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    return generate(30_000, 4, tmp_path_factory.mktemp("scenario"))


@pytest.fixture(scope="module")
def spark_session():
    from pesiar.linkage.spark import session

    spark = session(MASTER)
    yield spark
    spark.stop()


@pytest.fixture
def imported(scenario, spark_session, settings, tmp_path, db):
    settings.DATA_DIR = tmp_path / "data"
    settings.PESIAR = {**settings.PESIAR, "SPARK": {**settings.PESIAR["SPARK"], "PARTITIONS": 4}}
    for kind in ("population", "membership"):
        import_register(kind, scenario.path(kind), AS_OF)
    return scenario


def rows(path, columns):
    return sorted(duckdb.sql(f"SELECT {columns} FROM read_parquet('{path}')").fetchall())


def indicators():
    fields = ("region_id", "level", "population", "registered", "active", "rank", "rank_of")
    extra = ("segments", "reasons", "unmatched", "deceased_listed")
    found = Indicator.objects.unscoped(reason="test").filter(as_of=AS_OF)
    return sorted(
        tuple(getattr(i, f) for f in fields) + tuple(str(getattr(i, f, None)) for f in extra)
        for i in found
    )


def review_pairs(run):
    items = ReviewItem.objects.unscoped(reason="test").filter(run=run)
    return sorted((i.resident_nik, i.noka) for i in items)


def test_spark_map_equals_the_duckdb_map(imported):
    on_duckdb = run_map(AS_OF)
    duckdb_figures = indicators()
    on_spark = run_map(AS_OF, engine="spark", spark_master=MASTER)
    assert (on_duckdb.status, on_spark.status) == (LinkRun.Status.DONE, LinkRun.Status.DONE)
    # Stage 2 on Spark takes the model DuckDB trained on these regions: same m, u and prior.
    assert on_spark.parameters["training"]["path"] == "reused"
    assert on_spark.counts == on_duckdb.counts
    assert on_spark.counts["probabilistic_links"] > 100
    link_columns = "nik, noka, method, round(probability, 9), alive"
    assert rows(on_spark.links_file, link_columns) == rows(on_duckdb.links_file, link_columns)
    person_columns = (
        "nik, kk, village_code, sex, birth_date, noka, status, reason, segment, class, "
        "arrears_months, arrears_amount, employer_code, method, round(probability, 9)"
    )
    assert rows(on_spark.persons_file, person_columns) == rows(
        on_duckdb.persons_file, person_columns
    )
    assert review_pairs(on_spark) == review_pairs(on_duckdb)
    assert on_spark.parameters["linkage_rates"] == on_duckdb.parameters["linkage_rates"]
    assert indicators() == duckdb_figures


def test_spark_trains_its_own_model_within_a_bound_of_duckdb(imported):
    """Trained afresh on Spark, u is estimated from other random pairs than DuckDB's (each
    engine samples its own way), so m, u and the probabilities move slightly: stage 1 and
    every figure built on the exact links stay equal; stage 2's links may differ by a few
    pairs near the threshold (bounded here at 1% of them)."""
    on_duckdb = run_map(AS_OF)
    on_spark = run_map(AS_OF, engine="spark", spark_master=MASTER, retrain=True)
    training = on_spark.parameters["training"]
    assert training["path"] in ("trained", "partly fixed"), training
    assert training["em_sessions"] == on_duckdb.parameters["training"]["em_sessions"], training
    assert on_spark.counts["exact_links"] == on_duckdb.counts["exact_links"]
    columns = "nik, noka, method"
    spark_links = set(rows(on_spark.links_file, columns))
    duckdb_links = set(rows(on_duckdb.links_file, columns))
    stage2 = {link for link in duckdb_links if link[2] == "PROBABILISTIC"}
    assert len(spark_links ^ duckdb_links) <= 0.01 * len(stage2), (
        len(spark_links ^ duckdb_links),
        len(stage2),
        training,
        on_duckdb.parameters["training"],
    )
    assert {link for link in spark_links if link[2] == "EXACT"} == {
        link for link in duckdb_links if link[2] == "EXACT"
    }


@pytest.mark.parametrize(
    ("duckdb_sql", "expected"),
    [
        ("date_diff('year', DATE '2000-12-31', DATE '2001-01-01')", 1),
        ("date_diff('day', DATE '2000-12-31', DATE '2001-01-02')", 2),
        ("hamming('3501011204', '3501011240')", 2),
        ("list_has_all(['A', 'B', 'C'], ['C', 'A'])", True),
        ("list_has_all(['A', 'B'], ['C', 'A'])", False),
        (
            "list_reduce(['AB', 'ABCD', 'ABC'], lambda a, b: "
            "CASE WHEN length(b) > length(a) THEN b ELSE a END)",
            "ABCD",
        ),
        ("regexp_replace('SUPARMI BINTI KASIM', '^(.+?) (BIN|BINTI) .*$', '\\1')", "SUPARMI"),
        ("len(string_split('SITI NUR AMINAH', ' '))", 3),
    ],
)
def test_duckdb_functions_mean_the_same_on_spark(spark_session, duckdb_sql, expected):
    assert duckdb.sql(f"SELECT {duckdb_sql}").fetchall()[0][0] == expected
    spark = spark_session.sql(f"SELECT {spark_sql.duckdb_expression(duckdb_sql)}")
    assert spark.collect()[0][0] == expected


def test_an_unknown_engine_is_refused_before_a_run_starts(imported):
    with pytest.raises(MapError, match="unknown engine 'spork'"):
        run_map(AS_OF, engine="spork")
    assert not LinkRun.objects.exists()
