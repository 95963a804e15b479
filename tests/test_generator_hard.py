"""The hard noise profile: every kind present and recorded per card in the truth; the
default profile's files untouched."""

import duckdb
import pytest

from pesiar.demo.generator import generate
from pesiar.demo.generator.hard import KINDS


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    root = tmp_path_factory.mktemp("hard")
    return (
        generate(30_000, 3, root / "default"),
        generate(30_000, 3, root / "hard", noise="hard"),
    )


def test_every_hard_kind_is_in_the_truth(scenarios):
    _default, hard = scenarios
    kinds = dict(
        duckdb.sql(
            f"SELECT k, count(*) FROM (SELECT unnest(noise) AS k FROM "
            f"read_parquet('{hard.truth_path('participants')}')) GROUP BY k"
        ).fetchall()
    )
    for kind, _share in KINDS:
        assert kinds.get(kind, 0) > 0, kind
    assert kinds.get("twin_nik", 0) > 0
    assert kinds["nik_typo"] > 0 and kinds["name_variant"] > 0  # the default kinds too


def test_hard_cards_carry_their_noise(scenarios):
    _default, hard = scenarios
    rows = duckdb.sql(
        f"""SELECT k, m.NIK, m.NAMA, m.TGL_LAHIR, t.true_nik
            FROM (SELECT *, unnest(noise) AS k FROM
                  read_parquet('{hard.truth_path("participants")}')
                  WHERE len(noise) = 1) t
            JOIN read_csv('{hard.path("membership")}', all_varchar = true) m
              ON m.NOKA = t.noka"""
    ).fetchall()
    by_kind: dict[str, list] = {}  # cards with that one kind of noise only
    for kind, *rest in rows:
        by_kind.setdefault(kind, []).append(rest)
    assert all(nik == "0" * 16 for nik, *_ in by_kind["nik_zero"])
    assert all(nik is None or len(nik) == 15 for nik, *_ in by_kind["nik_15"])
    assert all(" BIN " in name or " BINTI " in name for _, name, *_ in by_kind["bin_binti"])
    assert all(birth[:5] in ("01/07", "31/12") for *_, birth, _ in by_kind["default_date"])
    assert all(nik != true for nik, *_, true in by_kind["relative_nik"])
    assert all(nik == true for nik, *_, true in by_kind["two_cards"])
    # The other twin's NIK: one digit off in the serial, the rest (birth date too) the same.
    assert all(
        nik[:12] == true[:12]
        and nik != true
        and birth.replace("/", "")[:4] in (true[6:10], f"{int(true[6:8]) - 40:02d}{true[8:10]}")
        for nik, _, birth, true in by_kind["twin_nik"]
    )


def test_the_default_profile_is_unchanged(scenarios):
    default, hard = scenarios
    assert default.path("population").read_bytes() == hard.path("population").read_bytes()
    assert default.path("membership").read_bytes() != hard.path("membership").read_bytes()
    columns = duckdb.sql(
        f"DESCRIBE SELECT * FROM read_parquet('{default.truth_path('participants')}')"
    ).fetchall()
    assert "noise" not in {c[0] for c in columns}
