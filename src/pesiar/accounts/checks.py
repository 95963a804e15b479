"""System checks that make scoping the default for every model that holds a region code.

accounts.E001  a model's ScopedManager names no region field, or one that does not exist.
accounts.E002  a model holds a region key (foreign key to Region, or a field named like
               `village_code`) but its default manager is not a ScopedManager, and it does not
               say why with `scope_exempt = "reason"`.
"""

from typing import Any

from django.apps import apps
from django.core.checks import Error, Tags, register
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from pesiar.accounts.scoping import ScopedQuerySet, resolve_field
from pesiar.regions.models import Region

REGION_CODE_FIELD_NAMES = frozenset(
    {"region_code", "province_code", "regency_code", "district_code", "village_code"}
)

# Models that existed before this check and whose app has yet to choose (ScopedManager or
# scope_exempt). They are skipped here; tests/test_accounts.py fails once an entry is no longer
# needed, so this list only shrinks. Add nothing to it: scope or exempt new models instead.
PENDING: dict[str, str] = {}


def region_key_fields(model: type[models.Model]) -> list[str]:
    """Names of the fields of `model` that hold a region code."""
    names = []
    for field in model._meta.get_fields():
        if not getattr(field, "concrete", False):
            continue
        to_region = field.is_relation and field.many_to_one and field.related_model is Region
        if to_region or field.name in REGION_CODE_FIELD_NAMES:
            names.append(field.name)
    return names


@register(Tags.models)
def check_region_keyed_models(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    errors: list[Error] = []
    configs = app_configs or apps.get_app_configs()
    for app_config in configs:
        if app_config.label == "regions":
            continue  # the region tree itself
        for model in app_config.get_models():
            errors.extend(_check_model(model))
    return errors


def _check_model(model: type[models.Model]) -> list[Error]:
    scoped = isinstance(model._default_manager.get_queryset(), ScopedQuerySet)
    if scoped:
        config = getattr(model, "_pesiar_scope_config", None)
        if config is None:
            return [
                Error(
                    f"{model._meta.label} uses ScopedManager without naming its region field.",
                    hint="objects = ScopedManager('village')",
                    obj=model,
                    id="accounts.E001",
                )
            ]
        try:
            resolve_field(model, config.region_field)
        except FieldDoesNotExist as exc:
            return [
                Error(
                    f"{model._meta.label}: region field {config.region_field!r}: {exc}",
                    obj=model,
                    id="accounts.E001",
                )
            ]
        return []
    keys = region_key_fields(model)
    if keys and not getattr(model, "scope_exempt", "") and model._meta.label not in PENDING:
        return [
            Error(
                f"{model._meta.label} holds region codes ({', '.join(keys)}) but its rows are "
                "not scoped.",
                hint=(
                    f"Make its default manager objects = ScopedManager({keys[0]!r}) "
                    "(pesiar.accounts.scoping), or, for data that is not scoped by region, "
                    'say why with scope_exempt = "reason" on the model.'
                ),
                obj=model,
                id="accounts.E002",
            )
        ]
    return []
