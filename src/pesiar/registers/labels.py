"""What each canonical register column is called on screen (Bahasa Indonesia by default),
and the rows of the upload preview: the column of the file, and what it is read as."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

COLUMN_LABELS = {
    "nik": gettext_lazy("NIK"),
    "kk": gettext_lazy("family card number (KK)"),
    "name": gettext_lazy("name"),
    "sex": gettext_lazy("sex"),
    "birth_date": gettext_lazy("birth date"),
    "birth_place": gettext_lazy("birth place"),
    "village_code": gettext_lazy("village"),
    "address": gettext_lazy("address"),
    "rt": gettext_lazy("RT"),
    "rw": gettext_lazy("RW"),
    "family_relation": gettext_lazy("family relation"),
    "death_date": gettext_lazy("date of death"),
    "life_status": gettext_lazy("basic status (alive, deceased, moved)"),
    "noka": gettext_lazy("JKN card number"),
    "segment": gettext_lazy("segment"),
    "class": gettext_lazy("class"),
    "status": gettext_lazy("status"),
    "inactive_reason": gettext_lazy("inactive reason"),
    "arrears_months": gettext_lazy("months in arrears"),
    "arrears_amount": gettext_lazy("arrears (Rp)"),
    "employer_code": gettext_lazy("employer code"),
    "employer_name": gettext_lazy("employer name"),
    "faskes_code": gettext_lazy("faskes (FKTP) code"),
    "decile": gettext_lazy("welfare decile"),
    "child_nik": gettext_lazy("child's NIK"),
    "child_name": gettext_lazy("child's name"),
    "mother_nik": gettext_lazy("mother's NIK"),
    "measured_on": gettext_lazy("measurement date"),
    "height_z": gettext_lazy("height-for-age z-score (TB/U)"),
    "stunted": gettext_lazy("stunted"),
    "expected_delivery_date": gettext_lazy("expected delivery date"),
    "layoff_date": gettext_lazy("layoff date"),
}


def column_label(name: str) -> str:
    """The label of a canonical column; the name itself for one without a label."""
    return str(COLUMN_LABELS.get(name, name))


def preview_rows(columns: dict[str, str]) -> list[tuple[str, str]]:
    """(what the file gives, label of the register column) for a preview's mapping, where a
    value given for the whole file (`= CODE`, see Mapping.describe) is said in words."""
    rows = []
    for name, source in columns.items():
        if source.startswith("= "):
            source = _("%(value)s, for the whole file") % {"value": source[2:]}
        rows.append((source, column_label(name)))
    return rows
