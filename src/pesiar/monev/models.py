from django.db import models
from django.utils.translation import gettext_lazy as _

from pesiar.accounts.scoping import ScopedManager


class Boundary(models.Model):
    """The outline of one region, imported from GeoJSON/TopoJSON (`pesiar regions boundaries`).

    `geometry` is the simplified outline as GeoJSON coordinates of a MultiPolygon (lon/lat,
    five decimals); `path` is the same outline as SVG path data in lon/-lat units, so a map is
    the concatenation of its regions' paths inside a viewBox that fits their `bbox`.
    """

    region = models.OneToOneField(
        "regions.Region", on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    level = models.PositiveSmallIntegerField(_("level"))
    geometry = models.JSONField(_("outline"))
    path = models.TextField()
    min_lon = models.FloatField()
    min_lat = models.FloatField()
    max_lon = models.FloatField()
    max_lat = models.FloatField()
    source = models.CharField(_("source file"), max_length=255, blank=True)
    imported_at = models.DateTimeField(auto_now=True)

    objects = ScopedManager("region")

    class Meta:
        verbose_name = _("boundary")
        verbose_name_plural = _("boundaries")
        indexes = [models.Index(fields=["level", "region"])]

    def __str__(self) -> str:
        return f"{self.region_id} ({self.source})"
