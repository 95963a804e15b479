"""Fast number formatting for the Monev pages (a ranking page shows hundreds of numbers)."""

from decimal import Decimal
from functools import lru_cache

from django import template
from django.utils import formats, translation

register = template.Library()


@lru_cache(maxsize=16)
def _separators(language: str) -> tuple[str, str]:
    with translation.override(language):
        return formats.get_format("THOUSAND_SEPARATOR"), formats.get_format("DECIMAL_SEPARATOR")


def _current() -> tuple[str, str]:
    return _separators(translation.get_language() or "id")


@register.filter
def num(value: int | None) -> str:
    """12345 -> '12.345' (Bahasa Indonesia) or '12,345' (English)."""
    if value is None or value == "":
        return "-"
    thousands, _decimal = _current()
    return f"{int(value):,}".replace(",", thousands)


@register.filter
def pct(value: Decimal | float | None) -> str:
    """78.42 -> '78,42' (Bahasa Indonesia) or '78.42' (English), two decimals."""
    if value is None or value == "":
        return "-"
    thousands, decimal = _current()
    text = f"{Decimal(value):,.2f}"
    return text.replace(",", "\x00").replace(".", decimal).replace("\x00", thousands)


@register.filter
def change(figures, name: str) -> str:
    """The change of `figures.<name>` since the previous date, signed: '+0,52 poin' for a
    percentage, '+1.234' for a count, '±0' when equal, '-' without a previous date. For a
    rank, a smaller number is better: 'naik 2' / 'turun 1'."""
    from django.utils.html import format_html
    from django.utils.translation import gettext as _

    delta = figures.change(name) if figures is not None else None
    if delta is None:
        return format_html('<span class="change none" title="{}">-</span>', _("no earlier date"))
    if name == "rank":
        if not delta:
            return format_html('<span class="change same">{}</span>', _("unchanged"))
        word = _("up %(n)s") if delta < 0 else _("down %(n)s")
        css = "up" if delta < 0 else "down"
        return format_html('<span class="change {}">{}</span>', css, word % {"n": abs(delta)})
    points = isinstance(delta, Decimal)
    text = f"{pct(abs(delta))} {_('points')}" if points else num(abs(delta))
    sign = "+" if delta > 0 else ("-" if delta < 0 else "±")
    good = delta > 0 if not name.startswith("to_target") else delta < 0
    css = "same" if not delta else ("up" if good else "down")
    return format_html('<span class="change {}">{}{}</span>', css, sign, text)


@register.filter
def uhc_label(value: str) -> str:
    """The UHC class in words, with what it means."""
    from pesiar.monev.scope import uhc_label as label

    return label(value)


@register.filter
def finding_label(value: str) -> str:
    from pesiar.monev.scope import finding_label as label

    return label(value)
