"""The comparisons of stage 2: the shape both registers take, the five comparisons and their
levels, the Splink settings, and the name frequencies of the term-frequency adjustment."""

from __future__ import annotations

from typing import Any

import duckdb

from pesiar.linkage import blocking
from pesiar.linkage.names import compact_name_sql, name_agreement_sql, normalised_name_sql

# Term-frequency adjustment of an exact name: its full weight, and the frequency below which
# a name counts as that rare (a name seen once in a district is not a proof of identity).
TF_WEIGHT = 1.0
TF_MIN_U = 1e-6


def prepare_sql(
    source: str, id_column: str, target: str, marks: bool = False, known: str | None = None
) -> str:
    """A TEMP table in the shape Splink compares: same columns for both registers (with
    `marks`, also the `fresh` and `kept` columns of incremental linkage).

    A name's forms are worked out once per spelling, not once per row: many people share
    one (SITI AMINAH), and the normalisation is a chain of regular expressions. With
    `known` (a `name_spellings` table) a spelling found there takes its normalised form
    from it, and only the others are normalised."""
    extra = ", coalesce(fresh, true) AS fresh, coalesce(kept, false) AS kept" if marks else ""
    carried = ", c.fresh, c.kept" if marks else ""
    distinct = f"(SELECT DISTINCT name FROM {source} WHERE name IS NOT NULL)"
    normalised = (
        f"""SELECT d.name, CASE WHEN k.name IS NOT NULL THEN k.name_norm
                               ELSE {normalised_name_sql("d.name")} END AS name_norm
            FROM {distinct} d LEFT JOIN {known} k ON k.name = d.name"""
        if known
        else f"SELECT name, {normalised_name_sql('name')} AS name_norm FROM {distinct}"
    )
    return f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        WITH normalised AS ({normalised}), spellings AS (
            SELECT name, name_norm,
                   {compact_name_sql("name_norm")} AS name_compact,
                   array_to_string(list_sort(string_split(name_norm, ' ')), ' ') AS name_sorted,
                   list_reduce(string_split(name_norm, ' '),
                               lambda a, b: CASE WHEN length(b) > length(a) THEN b ELSE a END)
                       AS name_long,
                   -- a one-letter word, or an M. that became MUHAMMAD
                   list_bool_or(list_transform(string_split(name_norm, ' '),
                                               lambda w: length(w) = 1))
                       OR regexp_matches(upper(name), '(^|[^A-Z])M([^A-Z]|$)')
                       AS name_initials
            FROM normalised
        ), cleaned AS (
            SELECT
                CAST({id_column} AS BIGINT) AS unique_id,
                nullif(regexp_replace(CAST(nik AS VARCHAR), '[^0-9]', '', 'g'), '') AS nik,
                nullif(regexp_replace(CAST(kk AS VARCHAR), '[^0-9]', '', 'g'), '') AS kk,
                name,
                CASE
                    WHEN upper(trim(sex)) IN ('L', 'LAKI-LAKI', 'M') THEN 'L'
                    WHEN upper(trim(sex)) IN ('P', 'PEREMPUAN', 'F', 'W') THEN 'P'
                END AS sex,
                CAST(birth_date AS DATE) AS birth_date,
                nullif(trim(CAST(village_code AS VARCHAR)), '') AS village{extra}
            FROM {source}
        )
        SELECT
            c.unique_id, c.nik, c.kk,
            n.name_norm, n.name_compact, n.name_sorted, n.name_long, n.name_initials,
            c.sex, c.birth_date,
            year(c.birth_date) AS birth_year,
            c.village,
            left(c.village, 8) AS district,
            left(c.village, 5) AS regency,
            CASE WHEN length(c.nik) = 16 THEN left(c.nik, 12) END AS nik_head,
            CASE WHEN length(c.nik) = 16 THEN right(c.nik, 10) END AS nik_tail{carried},
            left(n.name_compact, 4) AS name_key
        FROM cleaned c LEFT JOIN spellings n ON n.name = c.name
        ORDER BY c.unique_id
    """


def _level(sql: str, label: str, *, null: bool = False) -> dict[str, Any]:
    level: dict[str, Any] = {"sql_condition": sql, "label_for_charts": label}
    if null:
        level["is_null_level"] = True
    return level


def _else() -> dict[str, Any]:
    return _level("ELSE", "All other comparisons")


def name_comparison() -> dict[str, Any]:
    """Name: exact, compact, reordered, similar, contained, initials, same longest word."""
    jw_norm = "jaro_winkler_similarity(name_norm_l, name_norm_r)"
    jw_compact = "jaro_winkler_similarity(name_compact_l, name_compact_r)"
    jw_sorted = "jaro_winkler_similarity(name_sorted_l, name_sorted_r)"
    # Jaro-Winkler is harsh on short names (ADE/AE, RINI/RNI): allow one edit there.
    # (CASE, not AND: DuckDB may evaluate both sides of an AND, and the edit distance is
    # the costly part of the whole comparison.)
    one_edit_short = (
        "(CASE WHEN least(length(name_compact_l), length(name_compact_r)) <= 6"
        " AND abs(length(name_compact_l) - length(name_compact_r)) <= 1"
        " AND (left(name_compact_l, 1) = left(name_compact_r, 1)"
        " OR right(name_compact_l, 1) = right(name_compact_r, 1))"
        " THEN damerau_levenshtein(name_compact_l, name_compact_r) <= 1 ELSE false END)"
    )
    return {
        "output_column_name": "name",
        "comparison_description": "Normalised name",
        "comparison_levels": [
            _level("name_norm_l IS NULL OR name_norm_r IS NULL", "name is NULL", null=True),
            {
                **_level("name_norm_l = name_norm_r", "Exact match on normalised name"),
                # SITI AMINAH agreeing says less than SUPARMI agreeing: the weight of
                # an exact name follows its frequency in the whole register (`name_frequencies`).
                "tf_adjustment_column": "name_norm",
                "tf_adjustment_weight": TF_WEIGHT,
                "tf_minimum_u_value": TF_MIN_U,
            },
            _level("name_compact_l = name_compact_r", "Exact match on compact name"),
            _level("name_sorted_l = name_sorted_r", "Same words in another order"),
            _level(
                f"{jw_norm} >= 0.92 OR {jw_compact} >= 0.92 OR {jw_sorted} >= 0.92",
                "Jaro-Winkler >= 0.92",
            ),
            _level(
                f"{jw_norm} >= 0.85 OR {jw_compact} >= 0.85 OR {jw_sorted} >= 0.85"
                f" OR {one_edit_short}",
                "Jaro-Winkler >= 0.85, or a short name one edit away",
            ),
            _level(
                "list_has_all(string_split(name_norm_l, ' '), string_split(name_norm_r, ' '))"
                " OR list_has_all(string_split(name_norm_r, ' '), "
                "string_split(name_norm_l, ' '))",
                "Every word of one name in the other (a dropped word, a mononym)",
            ),
            # M. PRAKASA for MARTANI PRAKASA, A. TUAMI for AMALIA UTAMI: every word of the
            # shorter name is a word of the other, an initial of one (M. is unified to
            # MUHAMMAD, which may stand for any name in M) or one keying slip from one.
            # Only names with an initial (`name_initials`) pay for the word-by-word test.
            _level(
                "(CASE WHEN name_initials_l OR name_initials_r THEN"
                f" {name_agreement_sql('name_norm_l', 'name_norm_r')} >= 1 ELSE false END)",
                "Every word agrees, some as initials",
            ),
            _level(
                "length(name_long_l) >= 4 AND name_long_l = name_long_r"
                " AND left(name_norm_l, 1) = left(name_norm_r, 1)",
                "Same longest word (initials)",
            ),
            _else(),
        ],
    }


def nik_within(k: int, given: str) -> str:
    """SQL: `given` holds and the two NIKs are at most `k` edits apart (Damerau-Levenshtein).

    The edit distance is the costly part of stage 2 (DuckDB's takes five times Levenshtein's
    time), so it is computed only where nothing cheaper decides, inside CASE (DuckDB may
    evaluate both sides of an AND): NIKs of one length within `k` substitutions are within
    `k` edits; beyond `2k` differing places (one edit moves at most two, short of a
    deletion with an insertion) they count as further apart, as a shifted NIK is not one
    keying slip. A NULL counts as not within."""
    return (
        f"(CASE WHEN NOT coalesce({given}, false) THEN false"
        " WHEN length(nik_l) = length(nik_r) THEN"
        f" (CASE WHEN hamming(nik_l, nik_r) <= {k} THEN true"
        f" WHEN hamming(nik_l, nik_r) <= {2 * k}"
        f" THEN damerau_levenshtein(nik_l, nik_r) <= {k} ELSE false END)"
        f" WHEN abs(length(nik_l) - length(nik_r)) <= {k}"
        f" THEN damerau_levenshtein(nik_l, nik_r) <= {k}"
        " ELSE false END)"
    )


def birth_nik_comparison() -> dict[str, Any]:
    """Birth date and NIK as one comparison. The NIK spells out the birth date (and
    sex and district), so two people born on the same day in the same district have
    NIKs one or two digits apart. Scored separately, a same-day neighbour would earn
    the birth-date weight twice; scored jointly, "same date and NIK one digit off"
    gets the u measured for exactly that combination.
    """
    nik_null = "(nik_l IS NULL OR nik_r IS NULL)"
    same_date = "birth_date_l = birth_date_r"
    swapped = (
        "day(birth_date_l) = month(birth_date_r) AND month(birth_date_l) = day(birth_date_r)"
        " AND year(birth_date_l) = year(birth_date_r)"
    )
    days = "abs(date_diff('day', birth_date_l, birth_date_r))"
    return {
        "output_column_name": "birth_nik",
        "comparison_description": "Birth date and NIK",
        "comparison_levels": [
            _level(
                f"(birth_date_l IS NULL OR birth_date_r IS NULL) AND {nik_null}",
                "birth date and NIK are NULL",
                null=True,
            ),
            _level("nik_l = nik_r", "Exact match on NIK"),
            _level(nik_within(1, same_date), "Same birth date, NIK Damerau-Levenshtein <= 1"),
            _level(nik_within(2, same_date), "Same birth date, NIK Damerau-Levenshtein <= 2"),
            # (a pair with the same date got here only if its NIKs are further apart)
            _level(
                nik_within(2, f"NOT coalesce({same_date}, false)"),
                "Other birth date, NIK Damerau-Levenshtein <= 2",
            ),
            _level(f"{same_date} AND {nik_null}", "Same birth date, NIK NULL"),
            _level(same_date, "Same birth date, other NIK"),
            _level(swapped, "Day and month swapped"),
            _level(f"{days} <= 3", "Birth dates within 3 days"),
            _level("year(birth_date_l) = year(birth_date_r)", "Same birth year"),
            _else(),
        ],
    }


def comparisons() -> list[dict[str, Any]]:
    """The five comparisons, levels in decreasing order of agreement."""
    return [
        name_comparison(),
        birth_nik_comparison(),
        {
            "output_column_name": "sex",
            "comparison_description": "Sex",
            "comparison_levels": [
                _level("sex_l IS NULL OR sex_r IS NULL", "sex is NULL", null=True),
                _level("sex_l = sex_r", "Same sex"),
                _else(),
            ],
        },
        {
            "output_column_name": "kk",
            "comparison_description": "Family card number (KK)",
            "comparison_levels": [
                _level("kk_l IS NULL OR kk_r IS NULL", "KK is NULL", null=True),
                _level("kk_l = kk_r", "Same KK"),
                _else(),
            ],
        },
        {
            "output_column_name": "village",
            "comparison_description": "Village code",
            "comparison_levels": [
                _level("village_l IS NULL OR village_r IS NULL", "village is NULL", null=True),
                _level("village_l = village_r", "Same village"),
                _level("district_l = district_r", "Same district"),
                _else(),
            ],
        },
    ]


def settings(seed: int, capped: list[int] | None = None, fresh_only: bool = False) -> Any:
    """Splink settings: the comparisons, the prediction rules (`blocking`), EM limits."""
    from splink import SettingsCreator

    return SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        comparisons=comparisons(),
        blocking_rules_to_generate_predictions=blocking.prediction_rules(capped or [], fresh_only),
        retain_matching_columns=True,  # keeps gamma_name for the accept rule
        retain_intermediate_calculation_columns=False,
        max_iterations=25,
        em_convergence=1e-4,
        linker_uid=f"pesiar_stage2_seed{seed}",
    )


def name_spellings(con: duckdb.DuckDBPyConnection, population: str, target: str) -> None:
    """Table `target`(name, name_norm, n): each spelling of the register's names once, its
    normalised form and how many people bear it; for the name frequencies, and for the
    leftovers' names, most of which are among them (`prepare_sql`)."""
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT name, {normalised_name_sql("name")} AS name_norm, n
        FROM (SELECT name, count(*)::DOUBLE AS n FROM {population} GROUP BY name)
    """)  # (no filter on name_norm: DuckDB would push it down and normalise twice)


def name_frequencies(con: duckdb.DuckDBPyConnection, spellings: str, target: str) -> None:
    """Table `target`: the share of the register's people bearing each normalised name.

    Taken from the whole population register (its `name_spellings`), not from the
    leftovers: what is common (SITI, MUHAMMAD, NUR ...) is a property of the region, and the
    leftovers are a skewed sample of it.
    """
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {target} AS
        SELECT name_norm, sum(n) / sum(sum(n)) OVER () AS tf_name_norm
        FROM {spellings} GROUP BY name_norm
    """)
