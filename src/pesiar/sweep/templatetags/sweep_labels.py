"""`{{ code|label:"pathway" }}`: words instead of codes on the sweep's and field's pages."""

from typing import Any

from django import template

from pesiar.sweep.labels import label as words

register = template.Library()


@register.filter(name="label")
def label(code: Any, kind: str) -> str:
    return words(kind, code)
