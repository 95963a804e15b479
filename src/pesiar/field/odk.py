"""ODK Collect: an XLSForm for visits with the worklist attached, and its submissions read back.

`form_sheets()` is the form (the agent picks the family from worklist.csv with
select_one_from_file, sees its members through pulldata, records the visit fields);
`write_form_files(user, code, target)` writes form.xlsx (converted and checked with pyxform and
ODK Validate) and worklist.csv (one row per family, built from the sweep's `member_rows`);
`import_submissions(path, ...)` reads an ODK Central / Briefcase CSV export back as visits,
idempotent on the submission's instanceID.
"""

import csv
import io
import tempfile
import zipfile
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from pyxform.xls2xform import convert

from pesiar.accounts.cells import csv_dict
from pesiar.accounts.models import User
from pesiar.accounts.scoping import require_personal_access
from pesiar.accounts.viewer import Viewer
from pesiar.field import services
from pesiar.field.models import Outcome, Source
from pesiar.sweep.services import member_rows

FORM_ID = "pesiar_visit"
WORKLIST_COLUMNS = ["name", "label", "village_code", "village_name", "priority", "members"]

SURVEY = [
    ["type", "name", "label", "required", "relevant", "calculation", "constraint", "appearance"],
    ["start", "start", "", "", "", "", "", ""],
    ["username", "username", "", "", "", "", "", ""],
    ["select_one_from_file worklist.csv", "kk", "Keluarga (KK)", "yes", "", "", "", "search"],
    ["calculate", "members", "", "", "", "pulldata('worklist', 'members', 'name', ${kk})", "", ""],
    ["note", "members_note", "Anggota: ${members}", "", "", "", "", ""],
    ["date", "visit_date", "Tanggal kunjungan", "yes", "", "", ". <= today()", ""],
    ["select_one outcome", "outcome", "Hasil kunjungan", "yes", "", "", "", ""],
    ["text", "reason", "Alasan menolak", "yes", "${outcome} = 'REFUSED'", "", "", ""],
    ["text", "note", "Catatan", "", "", "", "", "multiline"],
    ["geopoint", "location", "Lokasi", "", "", "", "", ""],
]
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


def form_workbook() -> Workbook:
    """The XLSForm (survey, choices, settings sheets)."""
    wb = Workbook()
    survey = wb.active
    survey.title = "survey"
    for row in SURVEY:
        survey.append(row)
    choices = wb.create_sheet("choices")
    choices.append(["list_name", "name", "label"])
    for value in Outcome.values:
        choices.append(["outcome", value, OUTCOME_LABELS_ID[value]])
    settings = wb.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "instance_name"])
    settings.append(
        [
            "Kunjungan Pesiar",
            FORM_ID,
            timezone.now().strftime("%Y%m%d%H"),
            "concat(${kk}, ' ', ${visit_date})",
        ]
    )
    return wb


def build_xform(xlsx: Path, *, validate: bool = True) -> str:
    """The XForm XML of `xlsx`, checked with ODK Validate (java) when `validate`."""
    return convert(xlsform=str(xlsx), validate=validate, pretty_print=True).xform


def worklist_rows(user: User, code: str) -> list[dict[str, Any]]:
    """One row per open family inside `code`: name (KK) and label for the choice, and the
    members as text for pulldata."""
    families: OrderedDict[str, dict[str, Any]] = OrderedDict()
    items = services.worklist(user, village=code, state="OPEN")
    for m in member_rows(items, Viewer.of(user)):
        family = families.get(m["kk"])
        if family is None:
            head = m["head_name"] or m["name"]
            family = families[m["kk"]] = {
                "name": m["kk"],
                "label": f"{head} · {m['address']} · {m['village_name']} ({m['priority']})",
                "village_code": m["village_code"],
                "village_name": m["village_name"],
                "priority": m["priority"],
                "members": [],
            }
        family["members"].append(f"{m['name']} ({m['status']}, {m['pathway'] or '-'})")
    for family in families.values():
        family["members"] = "; ".join(family["members"])
    return list(families.values())


def write_form_files(user: User, code: str, target: Path | zipfile.ZipFile) -> int:
    """form.xlsx and worklist.csv for the families inside `code` into folder or zip `target`;
    returns the number of families."""
    require_personal_access(user)
    rows = worklist_rows(user, code)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=WORKLIST_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_dict(row) for row in rows)
    with tempfile.TemporaryDirectory() as tmp:
        xlsx = Path(tmp) / "form.xlsx"
        form_workbook().save(xlsx)
        build_xform(xlsx)  # refuses a form ODK Collect would refuse
        data = xlsx.read_bytes()
    if isinstance(target, zipfile.ZipFile):
        target.writestr("form.xlsx", data)
        target.writestr("worklist.csv", text.getvalue())
    else:
        target.mkdir(parents=True, exist_ok=True)
        (target / "form.xlsx").write_bytes(data)
        (target / "worklist.csv").write_text(text.getvalue(), encoding="utf-8")
    return len(rows)


# --- submissions back as visits -----------------------------------------------------------------


@dataclass
class OdkImport:
    read: int = 0
    created: int = 0
    already: int = 0
    problems: list[str] = field(default_factory=list)


def _column(row: dict[str, str], *names: str) -> str:
    """The value of the first column whose name (or its last '-' / '/' part) matches."""
    for key, value in row.items():
        short = key.replace("/", "-").split("-")[-1].strip().lower()
        if key.strip().lower() in names or short in names:
            return (value or "").strip()
    return ""


def _date(text: str) -> date | None:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%b %d, %Y"):
        try:
            return datetime.strptime(text[:10] if fmt == "%Y-%m-%d" else text, fmt).date()
        except ValueError:
            continue
    return None


def import_submissions(path: Path, *, default_agent: User | None = None) -> OdkImport:
    """Read an ODK submissions CSV export as visits. The agent is the submission's `username`
    (or SubmitterName) when that is a Pesiar user, else `default_agent`; each row must name a
    worklist family in that agent's scope. Rows already imported (same instanceID) are counted,
    not repeated; a bad row is reported with its line and skipped."""
    result = OdkImport()
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            result.read += 1
            instance = _column(row, "instanceid", "key", "meta-instanceid")
            if not instance:
                result.problems.append(f"line {line}: no instanceID column value")
                continue
            username = _column(row, "username", "submittername")
            agent = (
                User.objects.filter(username=username, is_active=True).first() if username else None
            )
            agent = agent or default_agent
            if agent is None:
                result.problems.append(f"line {line}: user {username!r} is not a Pesiar user")
                continue
            kk = _column(row, "kk")
            from pesiar.sweep.models import WorklistItem

            item = WorklistItem.objects.for_user(agent).filter(kk=kk).first()
            if item is None:
                result.problems.append(
                    f"line {line}: family card {kk} is not in {agent}'s villages"
                )
                continue
            visit_date = _date(_column(row, "visit_date"))
            if visit_date is None:
                result.problems.append(f"line {line}: visit_date is missing or not a date")
                continue
            lat = _column(row, "latitude", "location-latitude")
            lon = _column(row, "longitude", "location-longitude")
            location = _column(row, "location")
            if not lat and location:
                parts = location.split()
                lat, lon = [*parts, "", ""][:2]
            try:
                _visit, created = services.record_visit(
                    agent,
                    services.VisitInput(
                        item_id=item.pk,
                        date=visit_date,
                        outcome=_column(row, "outcome"),
                        reason=_column(row, "reason"),
                        note=_column(row, "note"),
                        latitude=lat or None,
                        longitude=lon or None,
                        client_id="odk:" + instance,
                        source=Source.ODK,
                    ),
                )
            except services.FieldError as exc:
                result.problems.append(f"line {line}: {exc}")
                continue
            if created:
                result.created += 1
            else:
                result.already += 1
    return result
