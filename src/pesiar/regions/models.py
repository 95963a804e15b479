from django.db import models
from django.utils.translation import gettext_lazy as _

# The code helpers live in pesiar.regions.codes; these names stay importable from here.
from pesiar.regions.codes import CODE_LENGTH, is_within, under_q, within_q

__all__ = ["CODE_LENGTH", "Level", "Region", "RegionQuerySet", "is_within", "under_q", "within_q"]


class Level(models.IntegerChoices):
    PROVINCE = 1, _("Province")
    REGENCY = 2, _("Regency/City")
    DISTRICT = 3, _("District")
    VILLAGE = 4, _("Village")


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
