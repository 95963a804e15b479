"""ODK submissions back into Pesiar: a CSV export (ODK Central's "submissions.csv", or
Briefcase) or Central's ZIP export (the form's CSV with its repeat and media files), read as
visits and registrations, each once (idempotent on the submission's instanceID)."""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

from pesiar.accounts.models import User
from pesiar.field import services
from pesiar.field.models import Segment, Source
from pesiar.sweep.models import WorklistItem, WorklistMember


@dataclass
class OdkImport:
    read: int = 0
    created: int = 0
    already: int = 0
    registrations: int = 0
    problems: list[str] = field(default_factory=list)


def _column(row: dict[str, str], *names: str) -> str:
    """The value of the first column whose name (or its last '-' / '/' part) matches."""
    for key, value in row.items():
        if key is None:
            continue
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


def _family(agent: User, value: str) -> WorklistItem | None:
    """The worklist family named by its opaque id (f123), or by its KK in older forms."""
    items = WorklistItem.objects.for_user(agent)
    match = re.fullmatch(r"f(\d{1,12})", value)
    if match:
        return items.filter(pk=int(match.group(1))).first()
    return items.filter(kk=value).first() if value else None


def _main_csv(archive: zipfile.ZipFile) -> str:
    """The form's own CSV in Central's ZIP export (repeats are 'form-repeat.csv')."""
    names = [n for n in archive.namelist() if n.lower().endswith(".csv") and "/" not in n]
    if not names:
        raise services.FieldError("the ZIP holds no CSV file: export the submissions as CSV")
    return min(names, key=len)


def rows_of(path: Path) -> Iterator[dict[str, str]]:
    """The submissions of a CSV file or of Central's ZIP export."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            data = archive.read(_main_csv(archive))
        handle: IO[str] = io.StringIO(data.decode("utf-8-sig"))
        yield from csv.DictReader(handle)
        return
    with Path(path).open(newline="", encoding="utf-8-sig") as fh:
        yield from csv.DictReader(fh)


def _registration(agent: User, item: WorklistItem, row: dict[str, str], instance: str) -> bool:
    picked = _column(row, "register_members").split()
    keys = [int(v[1:]) for v in picked if re.fullmatch(r"m\d{1,12}", v)]
    niks = list(
        WorklistMember.objects.for_user(agent)
        .filter(item=item, pk__in=keys)
        .values_list("nik", flat=True)
    )
    segment = _column(row, "segment") or Segment.PBPU
    _request, created = services.register_family(
        agent,
        services.RegistrationInput(
            kk=item.kk,
            niks=niks,
            segment=segment,
            jkn_class=3,
            faskes_code=_column(row, "faskes_code"),
            item_id=item.pk,
            submit=True,
            note=_column(row, "note"),
            client_id="odk:" + instance,
            source=Source.ODK,
        ),
    )
    return created


def _visit(agent: User, item: WorklistItem, row: dict[str, str], instance: str) -> bool:
    visit_date = _date(_column(row, "visit_date"))
    if visit_date is None:
        raise services.FieldError("visit_date is missing or not a date")
    lat = _column(row, "latitude", "location-latitude")
    lon = _column(row, "longitude", "location-longitude")
    location = _column(row, "location")
    if not lat and location:
        parts = location.split()
        lat, lon = [*parts, "", ""][:2]
    _visit_row, created = services.record_visit(
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
    return created


def import_submissions(
    path: Path, *, default_agent: User | None = None, only: User | None = None
) -> OdkImport:
    """Read an ODK export as visits and registrations. The agent is the submission's
    `username` (or SubmitterName) when that is a Pesiar user, else `default_agent`; with
    `only`, every row must be that user's own. Each row must name a worklist family in the
    agent's scope. Rows already imported (same instanceID) are counted, not repeated; a bad
    row is reported with its line and skipped."""
    result = OdkImport()
    for line, row in enumerate(rows_of(path), start=2):
        result.read += 1
        instance = _column(row, "instanceid", "key", "meta-instanceid")
        if not instance:
            result.problems.append(f"line {line}: no instanceID column value")
            continue
        username = _column(row, "username", "submittername")
        agent = User.objects.filter(username=username, is_active=True).first() if username else None
        agent = agent or default_agent
        if only is not None and agent is not None and agent.pk != only.pk:
            result.problems.append(f"line {line}: submitted by {username!r}, not by {only}")
            continue
        if agent is None:
            result.problems.append(f"line {line}: user {username!r} is not a Pesiar user")
            continue
        family = _column(row, "family", "kk")
        item = _family(agent, family)
        if item is None:
            result.problems.append(f"line {line}: family {family} is not in {agent}'s villages")
            continue
        is_registration = _column(row, "activity") == "registration"
        try:
            work = _registration if is_registration else _visit
            created = work(agent, item, row, instance)
        except services.FieldError as exc:
            result.problems.append(f"line {line}: {exc}")
            continue
        if not created:
            result.already += 1
        elif is_registration:
            result.registrations += 1
        else:
            result.created += 1
    return result


def describe(result: OdkImport) -> dict[str, Any]:
    return {
        "read": result.read,
        "visits": result.created,
        "registrations": result.registrations,
        "already": result.already,
        "skipped": len(result.problems),
    }
