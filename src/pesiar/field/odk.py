"""ODK Collect: one XLSForm for visits and registrations, with the worklist attached.

`form_workbook()` is the form: the agent says what they record (a visit or a registration),
picks the family from worklist.csv (select_one_from_file), sees its members through pulldata,
and records the visit fields, or ticks the members to register (members.csv, filtered to the
family), the segment and the faskes. Families and members carry opaque ids (f<id>, m<id>),
never a KK or NIK, masked or not. `form_files(user, code)` builds the three files (the form
converted and checked with pyxform and ODK Validate); submissions come back through
odk_import.
"""

import csv
import io
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from pyxform.xls2xform import convert

from pesiar.accounts.cells import csv_dict
from pesiar.accounts.models import User
from pesiar.accounts.scoping import require_personal_access
from pesiar.field import services
from pesiar.field.models import Outcome, Segment
from pesiar.sweep.labels import label
from pesiar.sweep.models import WorklistMember

FORM_ID = "pesiar_visit"
WORKLIST_COLUMNS = ["name", "label", "village_code", "village_name", "priority", "members"]
MEMBER_COLUMNS = ["name", "label", "family"]

VISIT, REGISTRATION = "${activity} = 'visit'", "${activity} = 'registration'"
HEADER = ["type", "name", "label", "required", "relevant", "calculation", "constraint",
          "appearance", "choice_filter"]  # fmt: skip
SURVEY = [
    ["start", "start"],
    ["username", "username"],
    ["select_one activity", "activity", "Yang dicatat", "yes", "", "", "", "", ""],
    ["select_one_from_file worklist.csv", "family", "Keluarga", "yes", "", "", "", "search"],
    ["calculate", "members", "", "", "", "pulldata('worklist', 'members', 'name', ${family})"],
    ["note", "members_note", "Anggota: ${members}"],
    ["date", "visit_date", "Tanggal", "yes", "", "", ". <= today()"],
    ["select_one outcome", "outcome", "Hasil kunjungan", "yes", VISIT],
    ["text", "reason", "Alasan menolak", "yes", VISIT + " and ${outcome} = 'REFUSED'"],
    ["select_multiple_from_file members.csv", "register_members", "Anggota yang didaftarkan",
     "yes", REGISTRATION, "", "", "", "family=${family}"],
    ["select_one segment", "segment", "Segmen", "yes", REGISTRATION],
    ["text", "faskes_code", "Kode faskes (FKTP)", "yes", REGISTRATION, "",
     "string-length(.) <= 20"],
    ["text", "note", "Catatan", "", "", "", "", "multiline"],
    ["geopoint", "location", "Lokasi", "", VISIT],
]  # fmt: skip
ACTIVITY_LABELS_ID = {"visit": "Kunjungan", "registration": "Pendaftaran keluarga"}
SEGMENT_LABELS_ID = {
    "PBPU": "PBPU (mandiri, seluruh KK)",
    "PBI_APBD": "PBI-APBD (dibayar Pemda)",
    "PPU": "PPU (lewat pemberi kerja)",
    "BP": "BP (bukan pekerja)",
}
OUTCOME_LABELS_ID = {
    "REGISTERED": "Terdaftar di tempat",
    "WILL_REGISTER": "Akan mendaftar",
    "REFUSED": "Menolak",
    "NOT_FOUND": "Tidak ditemukan",
    "MOVED": "Pindah",
    "DECEASED": "Meninggal",
    "NEEDS_PBI": "Perlu usulan PBI",
    "NEEDS_NIK": "Perlu NIK",
}


def family_key(item_id: int) -> str:
    """The opaque id a family carries in the ODK files (never its KK, masked or not)."""
    return f"f{item_id}"


def member_key(member_id: int) -> str:
    """The opaque id of a worklist member in members.csv (never the NIK)."""
    return f"m{member_id}"


def form_workbook() -> Workbook:
    """The XLSForm (survey, choices, settings sheets)."""
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    survey.append(HEADER)
    for row in SURVEY:
        survey.append(row + [""] * (len(HEADER) - len(row)))
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for value in Outcome.values:
        choices.append(["outcome", value, OUTCOME_LABELS_ID[value]])
    for value, words in ACTIVITY_LABELS_ID.items():
        choices.append(["activity", value, words])
    for value in Segment.values:
        choices.append(["segment", value, SEGMENT_LABELS_ID[value]])
    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "instance_name"])
    settings.append(
        [
            "Kunjungan dan pendaftaran Pesiar",
            FORM_ID,
            timezone.now().strftime("%Y%m%d%H%M"),
            "concat(${activity}, ' ', ${family}, ' ', ${visit_date})",
        ]
    )
    return wb


def build_xform(xlsx: Path, *, validate: bool = True) -> str:
    """The XForm XML of `xlsx`, checked with ODK Validate (java) when `validate`."""
    return convert(xlsform=str(xlsx), validate=validate, pretty_print=True).xform


def worklist_rows(user: User, code: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The open families inside `code` (worklist.csv: opaque family id and label for the
    choice, members as text for pulldata) and the members that can be registered
    (members.csv: opaque member id, label, family id for the choice filter)."""
    open_items = services.worklist_families(user, village=code, state="OPEN")
    items = list(open_items.select_related("village"))
    families: OrderedDict[int, dict[str, Any]] = OrderedDict(
        (
            i.pk,
            {
                "name": family_key(i.pk),
                "label": f"{i.head_name} · {i.address} · {i.village.name} ({i.priority})",
                "village_code": i.village_id,
                "village_name": i.village.name,
                "priority": i.priority,
                "members": [],
            },
        )
        for i in items
    )
    registrable = []
    members = WorklistMember.objects.for_user(user).filter(item_id__in=list(families))
    for m in members.order_by("item_id", "-priority", "birth_date"):
        text = (
            f"{m.name} ({label('member_status', m.status)}, {label('pathway', m.pathway) or '-'})"
        )
        families[m.item_id]["members"].append(text)
        if m.nik and m.status == WorklistMember.Status.NOT_REGISTERED:
            registrable.append(
                {
                    "name": member_key(m.pk),
                    "label": f"{m.name} · {m.relation}",
                    "family": family_key(m.item_id),
                }
            )
    for family in families.values():
        family["members"] = "; ".join(family["members"])
    return list(families.values()), registrable


def _csv(columns: list[str], rows: list[dict[str, Any]]) -> str:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_dict(row) for row in rows)
    return text.getvalue()


def form_files(user: User, code: str) -> tuple[dict[str, bytes], int]:
    """form.xlsx, worklist.csv and members.csv for the families inside `code` (the form
    checked with pyxform and ODK Validate), and the number of families."""
    require_personal_access(user)
    families, members = worklist_rows(user, code)
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = Path(tmp) / "form.xlsx"
        form_workbook().save(xlsx)
        build_xform(xlsx)  # refuses a form ODK Collect would refuse
        data = xlsx.read_bytes()
    files = {
        "form.xlsx": data,
        "worklist.csv": _csv(WORKLIST_COLUMNS, families).encode(),
        "members.csv": _csv(MEMBER_COLUMNS, members).encode(),
    }
    return files, len(families)


def write_form_files(user: User, code: str, target: Path | zipfile.ZipFile) -> int:
    """The form files for the families inside `code` into folder or zip `target`; returns
    the number of families."""
    files, count = form_files(user, code)
    if not isinstance(target, zipfile.ZipFile):
        target.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        if isinstance(target, zipfile.ZipFile):
            target.writestr(name, data)
        else:
            (target / name).write_bytes(data)
    return count
