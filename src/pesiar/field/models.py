"""Advokasi and Registrasi: what agents do in the village, recorded, and checked later against
what BPJS shows.

- `Visit`: one visit to a worklist family (many per family; the family's state follows the
  latest outcome).
- `Event`: a socialisation event in a village.
- `RegistrationRequest` and its `RegistrationPerson` rows: the family members an agent
  registers; DRAFT -> SUBMITTED -> EXPORTED (in an `ExportBatch` for BPJS) -> CONFIRMED /
  ACTIVATED when a later membership snapshot shows them, or UNCONFIRMED after some weeks.
- `ApiToken`: hashed tokens for the REST API (mobile clients).

Everything submitted by a client carries a `client_id` (unique): a retry finds the row it made
the first time instead of making another.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.scoping import ScopedManager
from pesiar.registers.vocabulary import RegistrationSegment


class Outcome(models.TextChoices):
    """What a visit found (codes as in the API, ODK form and exports)."""

    REGISTERED = "REGISTERED", _("registered on the spot")
    WILL_REGISTER = "WILL_REGISTER", _("will register")
    REFUSED = "REFUSED", _("refused")
    NOT_FOUND = "NOT_FOUND", _("not found")
    MOVED = "MOVED", _("moved")
    DECEASED = "DECEASED", _("deceased")
    NEEDS_PBI = "NEEDS_PBI", _("needs PBI proposal")
    NEEDS_NIK = "NEEDS_NIK", _("needs NIK")


# Outcomes after which the family needs no further visit: its worklist item is closed.
CLOSING_OUTCOMES = frozenset({Outcome.REGISTERED, Outcome.MOVED, Outcome.DECEASED})


class Source(models.TextChoices):
    WEB = "WEB", _("web")
    API = "API", _("API")
    ODK = "ODK", _("ODK Collect")


class Visit(models.Model):
    """One visit of an agent to a worklist family."""

    client_id = models.CharField(
        _("client id"),
        max_length=100,
        unique=True,
        help_text="made by the client; retries reuse it",
    )
    item = models.ForeignKey(
        "sweep.WorklistItem",
        on_delete=models.PROTECT,
        related_name="visits",
        verbose_name=_("family"),
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    date = models.DateField(_("date"))
    outcome = models.CharField(_("outcome"), max_length=24, choices=Outcome.choices)
    reason = models.CharField(_("reason for refusal"), max_length=300, blank=True)
    note = models.TextField(_("note"), blank=True)
    latitude = models.DecimalField(
        _("latitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("longitude"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    source = models.CharField(max_length=3, choices=Source.choices, default=Source.WEB)
    base_version = models.PositiveIntegerField(
        _("family version seen"),
        null=True,
        blank=True,
        help_text="the worklist item's version the (offline) client saw when recording this",
    )
    conflict = models.BooleanField(
        _("conflict"),
        default=False,
        help_text="recorded against an older version of the family: another change came first",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager("item__village", personal=True, identifiers=())

    class Meta:
        ordering = ["-date", "-id"]
        indexes = [models.Index(fields=["item", "-date", "-id"])]

    def __str__(self) -> str:
        return f"visit {self.date} {self.outcome} (item {self.item_id})"


class EventKind(models.TextChoices):
    VILLAGE_MEETING = "VILLAGE_MEETING", _("village meeting")
    POSYANDU = "POSYANDU", _("posyandu")
    SCHOOL = "SCHOOL", _("school")
    WORSHIP = "WORSHIP", _("place of worship")
    OTHER = "OTHER", _("other")


class Event(models.Model):
    """A socialisation (advocacy) event held in a village."""

    client_id = models.CharField(_("client id"), max_length=100, unique=True)
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=16, choices=EventKind.choices)
    attendees = models.PositiveIntegerField(_("attendees"))
    notes = models.TextField(_("notes"), blank=True)
    source = models.CharField(max_length=3, choices=Source.choices, default=Source.WEB)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ScopedManager("village", personal=True, identifiers=())

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.village_id} {self.date}"


# The segments an agent can register a family in (the membership vocabulary's).
Segment = RegistrationSegment


class RequestStatus(models.TextChoices):
    DRAFT = "DRAFT", _("draft")
    SUBMITTED = "SUBMITTED", _("submitted")
    EXPORTED = "EXPORTED", _("exported to BPJS")
    CONFIRMED = "CONFIRMED", _("confirmed (registered)")
    ACTIVATED = "ACTIVATED", _("activated")
    UNCONFIRMED = "UNCONFIRMED", _("unconfirmed")


class ExportBatch(models.Model):
    """A batch file of submitted registration requests for BPJS (XLSX and CSV)."""

    region = models.ForeignKey(
        "regions.Region",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("region"),
        help_text="the region the batch was made for",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    requests = models.PositiveIntegerField(default=0)
    people = models.PositiveIntegerField(default=0)
    folder = models.CharField(max_length=255, help_text="relative to PESIAR_DATA_DIR")

    objects = ScopedManager("region", personal=True, identifiers=())

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"batch #{self.pk} ({self.people} people)"


class RegistrationRequest(models.Model):
    """A family's registration: who, in which segment, class and faskes, and how it went."""

    client_id = models.CharField(_("client id"), max_length=100, unique=True)
    village = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    item = models.ForeignKey(
        "sweep.WorklistItem",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="registrations",
        verbose_name=_("family"),
    )
    kk = models.CharField(_("family card (KK)"), max_length=16)
    segment = models.CharField(_("segment"), max_length=10, choices=Segment.choices)
    jkn_class = models.PositiveSmallIntegerField(
        _("class"), choices=[(1, "1"), (2, "2"), (3, "3")], default=3
    )
    faskes_code = models.CharField(_("faskes (FKTP) code"), max_length=20)
    status = models.CharField(
        _("status"), max_length=11, choices=RequestStatus.choices, default=RequestStatus.DRAFT
    )
    agent = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("agent"),
    )
    note = models.TextField(_("note"), blank=True)
    source = models.CharField(max_length=3, choices=Source.choices, default=Source.WEB)
    base_version = models.PositiveIntegerField(
        _("family version seen"),
        null=True,
        blank=True,
        help_text="the worklist item's version the (offline) client saw when recording this",
    )
    conflict = models.BooleanField(
        _("conflict"),
        default=False,
        help_text="recorded against an older version of the family: another change came first",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    batch = models.ForeignKey(
        ExportBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    exported_at = models.DateTimeField(null=True, blank=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    confirmed_by = models.ForeignKey(
        "registers.Snapshot",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="the membership snapshot that showed the family registered",
    )
    unconfirmed_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager("village", personal=True, identifiers=("kk",))

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["village", "status"])]

    def __str__(self) -> str:
        return f"registration #{self.pk} KK {self.kk} ({self.status})"


class PersonStatus(models.TextChoices):
    PENDING = "PENDING", _("pending")
    REGISTERED = "REGISTERED", _("registered")
    ACTIVE = "ACTIVE", _("active")


class RegistrationPerson(models.Model):
    """One family member in a registration request."""

    request = models.ForeignKey(
        RegistrationRequest, on_delete=models.CASCADE, related_name="people"
    )
    nik = models.CharField("NIK", max_length=16)
    name = models.CharField(_("name"), max_length=200)
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    relation = models.CharField(_("family relation"), max_length=40, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=PersonStatus.choices, default=PersonStatus.PENDING
    )
    noka = models.CharField(_("JKN card number"), max_length=13, blank=True)

    objects = ScopedManager("request__village", personal=True, identifiers=("nik",))

    class Meta:
        ordering = ["request", "id"]
        constraints = [
            models.UniqueConstraint(fields=["request", "nik"], name="field_person_once_per_request")
        ]

    def __str__(self) -> str:
        return f"{self.nik} ({self.status})"


def hash_token(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiToken(models.Model):
    """A token for the REST API. Only its SHA-256 is kept; the key is shown once."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    prefix = models.CharField(
        max_length=8, help_text="first characters of the key, to tell tokens apart"
    )
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"

    @classmethod
    def issue(cls, user, name: str = "") -> tuple["ApiToken", str]:
        """A new token for `user`: (the row, the key to show once)."""
        key = "psr_" + secrets.token_urlsafe(32)
        token = cls.objects.create(user=user, name=name, prefix=key[:8], key_hash=hash_token(key))
        return token, key
