"""System checks: scope is enforced, not remembered.

Every model of an Andon app declares how it reaches its site (``site_path``) or that it is
global, a user's own or internal (``scope``; see :mod:`mes.models.base`), and its default
manager offers ``visible_to``; every admin of such a model derives from the scoped admin
mixin, so a new model cannot be listed unscoped. Django runs these checks when a server,
worker or migration starts, and refuses to go on when one fails.
"""

from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.contrib import admin
from django.core.checks import Error, Tags, register
from django.core.exceptions import FieldDoesNotExist

from mes.models import Site
from mes.models.base import SCOPES


def andon_models(app_labels=None) -> list:
    """Concrete models of the Andon apps (history tables are reached through their record)."""
    names = set(settings.ANDON_APPS)
    return [
        model
        for config in apps.get_app_configs()
        if config.name in names and (app_labels is None or config.label in app_labels)
        for model in config.get_models()
        if not model._meta.auto_created and not _is_history(model)
    ]


def _is_history(model) -> bool:
    return hasattr(model, "instance_type") and model.__name__.startswith("Historical")


def _leads_to_site(model, path: str) -> bool:
    if path == "pk":
        return model is Site
    current = model
    for part in path.split("__"):
        try:
            field = current._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        if not field.is_relation or field.related_model is None:
            return False
        current = field.related_model
    return current is Site


def scope_errors(models) -> list[Error]:
    """What is wrong with the scope declarations of ``models`` (empty: nothing)."""
    errors = []
    for model in models:
        label = model._meta.label
        path = getattr(model, "site_path", None)
        scope = getattr(model, "scope", None)
        if path is None and scope is None:
            errors.append(
                Error(
                    f"{label} does not declare how it reaches its site.",
                    hint='Set site_path = "<path to Site>" or scope = GLOBAL, OWNER or INTERNAL '
                    "(mes.models.base).",
                    obj=model,
                    id="andon.E001",
                )
            )
            continue
        if path is not None and scope is not None:
            errors.append(
                Error(f"{label} declares both site_path and scope.", obj=model, id="andon.E001")
            )
        if path is not None and not _leads_to_site(model, path):
            errors.append(
                Error(
                    f"{label}.site_path {path!r} does not lead to mes.Site.",
                    obj=model,
                    id="andon.E002",
                )
            )
        if scope is not None and scope not in SCOPES:
            errors.append(
                Error(
                    f"{label}.scope {scope!r} is not one of {SCOPES}.", obj=model, id="andon.E002"
                )
            )
        if not hasattr(model._default_manager, "visible_to"):
            errors.append(
                Error(
                    f"{label}'s default manager has no visible_to(user).",
                    hint="Use a queryset of mes.models.base (SiteScopedQuerySet, GlobalQuerySet, "
                    "OwnerQuerySet, InternalQuerySet).",
                    obj=model,
                    id="andon.E003",
                )
            )
    return errors


def admin_errors(site=admin.site) -> list[Error]:
    """An admin of an Andon model, or one of its inlines, that does not scope its rows and
    choices."""
    from mes.admin.base import ScopedAdminMixin, ScopedForeignKeysMixin

    models = set(andon_models())
    errors = []
    for model, model_admin in site._registry.items():
        if model not in models:
            continue
        if not isinstance(model_admin, ScopedAdminMixin):
            errors.append(
                Error(
                    f"The admin of {model._meta.label} ({type(model_admin).__name__}) is not "
                    "scoped.",
                    hint="Derive it from mes.admin.base.ScopedAdminMixin or an admin on it.",
                    obj=type(model_admin),
                    id="andon.E004",
                )
            )
        for inline in model_admin.inlines:
            if not issubclass(inline, ScopedForeignKeysMixin):
                errors.append(
                    Error(
                        f"The inline {inline.__name__} of {model._meta.label} does not scope its "
                        "choices.",
                        hint="Derive it from mes.admin.base.ScopedInline or ReadOnlyInline.",
                        obj=inline,
                        id="andon.E004",
                    )
                )
    return errors


@register(Tags.models)
def check_scopes(app_configs=None, **kwargs) -> list[Error]:
    labels = {c.label for c in app_configs} if app_configs else None
    return scope_errors(andon_models(labels))


@register(Tags.admin)
def check_admin_scopes(app_configs=None, **kwargs) -> list[Error]:
    return admin_errors()
