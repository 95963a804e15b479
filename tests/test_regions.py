import gzip
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from pesiar.regions import builtin, codes
from pesiar.regions.codes import is_within, normalise_code, under_q, within_q
from pesiar.regions.models import Region
from pesiar.regions.services import RegionFileError, load_regions


def test_builtin_list_counts_match_the_official_list():
    assert [len(builtin.codes(level)) for level in (1, 2, 3, 4)] == [38, 514, 7285, 83762]
    jambi_villages = [c for c in builtin.codes(4) if c.startswith("15.")]
    assert len(jambi_villages) == 1585


def test_builtin_list_ships_licence_and_attribution():
    data = builtin.data_dir()
    assert "Open Database License" in (data / "LICENSE-ODbL.md").read_text()
    assert builtin.ATTRIBUTION in (data / "ATTRIBUTION.md").read_text()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15", "15"),
        ("1502", "15.02"),
        ("150205", "15.02.05"),
        ("1502051002", "15.02.05.1002"),
        ("15.02.05.1002", "15.02.05.1002"),
        (" 15.02 ", "15.02"),
        ("15.2", None),
        ("150", None),
        ("15.02.05.10021", None),
        ("AB", None),
        ("", None),
    ],
)
def test_normalise_code(text, expected):
    assert normalise_code(text) == expected


def test_is_within_uses_whole_code_parts():
    assert is_within("15.02.05.1002", "15.02")
    assert is_within("15.02", "15.02")
    assert not is_within("15.02", "15.02.05")
    assert not is_within("15.020", "15.02")
    assert not is_within("15.72.01", "15.7")


def test_code_ancestry_goes_by_whole_parts():
    assert codes.level("15") == 1 and codes.level("15.02.05.1002") == 4
    assert codes.parent("15.02.05.1002") == "15.02.05" and codes.parent("15") is None
    assert codes.ancestors("15.02.05.1002") == ["15", "15.02", "15.02.05"]
    assert codes.ancestors("15") == []
    assert codes.within_sql("v", "15.02") == ("v = ? OR v LIKE ?", ["15.02", "15.02.%"])
    assert codes.within_sql("v", "15.02", "%s", dotted=False) == (
        "v = %s OR v LIKE %s",
        ["1502", "1502%"],
    )


@pytest.mark.django_db
def test_under_and_within_match_is_within():
    region_codes = set(Region.objects.within("15.02").values_list("code", flat=True))
    under = set(Region.objects.filter(under_q("15.02")).values_list("code", flat=True))
    within = set(Region.objects.filter(within_q("15.02")).values_list("code", flat=True))
    listed = {c for level in (2, 3, 4) for c in builtin.codes(level) if is_within(c, "15.02")}
    assert within == region_codes == listed
    assert under == within - {"15.02"}
    assert Region.objects.filter(within_q("")).count() == Region.objects.count()


@pytest.mark.django_db
def test_jambi_is_loaded_for_tests_with_parents():
    assert Region.objects.within("15").villages().count() == 1585
    village = Region.objects.get(code="15.02.05.1002")
    assert village.name == "Dusun Baru"
    assert village.parent.code == "15.02.05"
    assert village.parent.parent.parent.code == "15"
    assert Region.objects.get(code="15.02").contains(village)
    assert Region.objects.within("15.02").villages().count() == 215


@pytest.mark.django_db
def test_second_load_changes_nothing_and_says_so():
    out = []
    call_command("regions", "load", "--within", "15", stdout=_Sink(out))
    text = "".join(out)
    assert "Nothing changed" in text
    assert "Village: 1585 (0 new, 0 updated, 1585 unchanged)" in text


@pytest.mark.django_db
def test_whole_nation_loads_with_bulk_inserts(django_assert_max_num_queries):
    before = Region.objects.count()  # Jambi, and any region an earlier test left
    with django_assert_max_num_queries(1000):  # per-row inserts would need 90,000
        report = load_regions()
    assert sum(report.created.values()) == 91599 - before
    assert Region.objects.count() == 91599


@pytest.mark.django_db
def test_load_csv_without_dots_derives_level_and_parent(tmp_path: Path):
    path = tmp_path / "extra.csv"
    path.write_text("code,name\n15,Jambi\n1502,Kabupaten Merangin\n1502059999,Desa Uji\n")
    with pytest.raises(RegionFileError, match="parent"):
        # 15.02.05 exists, so this passes; a village under an unknown district must fail
        load_regions(_write(tmp_path / "bad.csv", "code,name\n1599019999,Desa Hilang\n"))
    report = load_regions(path)
    assert report.created[4] == 1
    assert report.updated[1] == 0
    village = Region.objects.get(code="15.02.05.9999")
    assert (village.level, village.parent_id) == (4, "15.02.05")


@pytest.mark.django_db
def test_load_renames_and_reports_update(tmp_path: Path):
    report = load_regions(_write(tmp_path / "r.csv", "code,name,level\n15.02,Merangin Baru,2\n"))
    assert report.updated[2] == 1
    assert Region.objects.get(code="15.02").name == "Merangin Baru"


@pytest.mark.django_db
def test_load_folder_in_four_file_layout(tmp_path: Path):
    (tmp_path / "provinces.csv").write_text("code,name\n99,Provinsi Uji\n")
    with gzip.open(tmp_path / "regencies.csv.gz", "wt") as fh:
        fh.write("code,province_code,name\n99.01,99,Kabupaten Uji\n")
    report = load_regions(tmp_path)
    assert (report.created[1], report.created[2]) == (1, 1)
    assert Region.objects.get(code="99.01").parent_id == "99"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("kode,nama\n15,Jambi\n", "expected columns code,name"),
        ("code,name\n15.2,Jambi\n", "line 2, column code"),
        ("code,name\n15,\n", "line 2, column name"),
        ("code,name,level\n15.02,Merangin,3\n", "line 2, column level"),
        ("code,name,parent_code\n15.02,Merangin,16\n", "line 2, column parent_code"),
        ("code,name\n15,Jambi,extra\n", "line 2: 3 fields"),
        ("code,name\n15,Jambi\n15,Jambi Baru\n", "appears twice"),
    ],
)
@pytest.mark.django_db
def test_bad_region_files_name_line_and_column(tmp_path: Path, content: str, message: str):
    path = _write(tmp_path / "regions.csv", content)
    with pytest.raises(RegionFileError, match=message) as info:
        load_regions(path)
    if "line" in message:
        assert str(path) in str(info.value)


@pytest.mark.django_db
def test_command_reports_errors_clearly(tmp_path: Path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("regions", "load", str(tmp_path / "missing.csv"))


@pytest.mark.django_db
def test_region_pages_need_login_and_list_children(client, django_user_model):
    assert client.get("/regions/15/").status_code == 302
    user = django_user_model.objects.create_user(
        "budi", password="rahasia-panjang-1", role="province"
    )
    user.scopes.create(region_id="15")
    client.force_login(user)
    page = client.get("/regions/15/")
    assert page.status_code == 200
    assert "Kabupaten Merangin" in page.content.decode()
    assert client.get("/regions/").status_code == 200
    assert client.get("/regions/99.99/").status_code == 404


def _write(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


class _Sink:
    def __init__(self, out: list[str]):
        self.out = out

    def write(self, text: str) -> None:
        self.out.append(text)

    def flush(self) -> None:
        pass
