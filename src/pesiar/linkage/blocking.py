"""Blocking of stage 2: which pairs are compared at all, counted and bounded before predicting."""

from __future__ import annotations

from typing import Any

import duckdb

_BLOCKS = "__pesiar_prob_blocks"

# Candidate pairs to score (OR-ed; Splink scores each pair once). Birth date alone
# would not do: registers heap people on placeholder dates (01-06, 01-07, 31-12 ...),
# so it is always paired with something that splits such heaps.
PREDICTION_BLOCKING = (
    ("kk",),
    ("birth_date", "sex", "district"),
    ("birth_date", "name_key"),  # first 4 letters of the compact name: moved away
    ("nik_head",),  # region + birth date coded in the NIK: a wrong birth date field
    ("nik_tail", "regency"),  # birth date + serial in the NIK: a typo in its region
    ("name_compact", "village"),
    # moved within the regency, birth date mistyped: the regency keeps the common names of a
    # province apart (at 10M: 0.45M pairs instead of 1.86M, with the same links)
    ("name_compact", "birth_year", "regency"),
)
# A block (the records sharing one key value of one rule) that would compare more pairs than
# this is left out of that rule: placeholder birth dates (01-07, 31-12) and very common
# names would otherwise make the comparisons grow with the square of a heap. Its records
# still meet their matches through the other rules (KK, NIK parts, name with village).
BLOCK_MAX_PAIRS = 20_000


def cap_blocks(con: duckdb.DuckDBPyConnection, left: str, right: str) -> dict[str, Any]:
    """Count the pairs of every prediction rule before predicting, and mark (column
    `big_<i>` on both tables `left` and `right`, rewritten once for all rules) the blocks
    above BLOCK_MAX_PAIRS."""
    capped, pairs, skipped = [], {}, {}
    for i, cols in enumerate(PREDICTION_BLOCKING):
        keys = ", ".join(cols)
        not_null = " AND ".join(f"{c} IS NOT NULL" for c in cols)
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {_BLOCKS} AS
            SELECT {keys}, l.n * r.n AS pairs FROM
                (SELECT {keys}, count(*) AS n FROM {left} WHERE {not_null} GROUP BY ALL) l
                JOIN (SELECT {keys}, count(*) AS n FROM {right} WHERE {not_null} GROUP BY ALL) r
                USING ({keys})
        """)
        total, big, big_pairs = con.execute(f"""
            SELECT coalesce(sum(pairs), 0)::BIGINT, count(*) FILTER (pairs > {BLOCK_MAX_PAIRS}),
                   coalesce(sum(pairs) FILTER (pairs > {BLOCK_MAX_PAIRS}), 0)::BIGINT
            FROM {_BLOCKS}
        """).fetchall()[0]
        name = "+".join(cols)
        pairs[name] = total - big_pairs
        if big:
            skipped[name] = {"blocks": big, "pairs": big_pairs}
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE {_BLOCKS}_{i} AS
                SELECT {keys} FROM {_BLOCKS} WHERE pairs > {BLOCK_MAX_PAIRS}
            """)
            capped.append(i)
    con.execute(f"DROP TABLE IF EXISTS {_BLOCKS}")
    if capped:
        flags = ", ".join(
            f"b{i}.{PREDICTION_BLOCKING[i][0]} IS NOT NULL AS big_{i}" for i in capped
        )
        joins = " ".join(
            f"LEFT JOIN {_BLOCKS}_{i} b{i} ON "
            + " AND ".join(f"b{i}.{c} = t.{c}" for c in PREDICTION_BLOCKING[i])
            for i in capped
        )
        for table in (left, right):
            con.execute(f"""
                CREATE OR REPLACE TEMP TABLE {table} AS
                SELECT t.*, {flags} FROM {table} t {joins} ORDER BY t.unique_id
            """)
        for i in capped:
            con.execute(f"DROP TABLE {_BLOCKS}_{i}")
    return {"capped": capped, "pairs_by_rule": pairs, "skipped_blocks": skipped}


def prediction_rules(capped: list[int], fresh_only: bool = False) -> list[Any]:
    """The rules Splink predicts with; with `fresh_only` (incremental linkage) only pairs
    with a fresh record and no kept one (columns `fresh` and `kept`, see `incremental`)."""
    from splink import block_on

    rules: list[Any] = []
    for i, cols in enumerate(PREDICTION_BLOCKING):
        if i not in capped and not fresh_only:
            rules.append(block_on(*cols))
            continue
        rule = " AND ".join(f"l.{c} = r.{c}" for c in cols)
        if i in capped:
            rule += f" AND NOT l.big_{i}"
        if fresh_only:
            rule += " AND (l.fresh OR r.fresh) AND NOT l.kept AND NOT r.kept"
        rules.append(rule)
    return rules
