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
