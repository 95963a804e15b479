from django.db import connection, models
from django.utils.translation import gettext_lazy as _


class Level(models.IntegerChoices):
    PROVINCE = 1, _("Province")
    REGENCY = 2, _("Regency/City")
    DISTRICT = 3, _("District")
    VILLAGE = 4, _("Village")


# Length of a dotted code at each level: PP, PP.RR, PP.RR.DD, PP.RR.DD.VVVV
CODE_LENGTH = {1: 2, 2: 5, 3: 8, 4: 13}


def under_q(code: str, lookup: str = "code") -> models.Q:
    """Rows whose region (`lookup`, a field holding a dotted code) lies strictly under region
    `code`; every row for '' (the nation).

    On SQLite a range: codes under '15.02' sort between '15.02.' and '15.02/' ('/' follows
    '.'), and a range uses the index where SQLite's LIKE does not. Elsewhere a prefix match:
    a linguistic collation (en_US) may ignore the dots, so a range is unsafe there."""
    if not code:
        return models.Q()
    if connection.vendor == "sqlite":
        return models.Q(**{f"{lookup}__gte": code + ".", f"{lookup}__lt": code + "/"})
    return models.Q(**{f"{lookup}__startswith": code + "."})


def within_q(code: str, lookup: str = "code") -> models.Q:
    """Rows of region `code` itself and of everything under it."""
    if not code:
        return models.Q()
    return models.Q(**{lookup: code}) | under_q(code, lookup)


class RegionQuerySet(models.QuerySet):
    def within(self, code: str) -> "RegionQuerySet":
        """The region `code` and everything under it."""
        return self.filter(within_q(code))

    def villages(self) -> "RegionQuerySet":
        return self.filter(level=Level.VILLAGE)


class Region(models.Model):
    """A Kemendagri region: province, regency/city, district or village, keyed by dotted code."""

    code = models.CharField(_("code"), max_length=13, primary_key=True)
    name = models.CharField(_("name"), max_length=200)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent"),
    )

    objects = RegionQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def contains(self, other: "Region | str") -> bool:
        return is_within(str(getattr(other, "code", other)), self.code)


def is_within(code: str, ancestor: str) -> bool:
    """True when region `code` is `ancestor` itself or lies under it (dotted code prefix)."""
    return code == ancestor or code.startswith(ancestor + ".")
