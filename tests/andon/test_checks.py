"""Scope is enforced at start-up: a model that does not say how it reaches its site, or an
admin that does not scope, stops every process with a system check error."""

import os
import subprocess
import sys
from pathlib import Path

from django.contrib import admin
from django.db import models
from django.test.utils import isolate_apps

from andon.checks import admin_errors, andon_models, scope_errors
from andon.discovery import collect
from mes.api.viewsets import ScopedViewSet
from mes.models import GlobalQuerySet, Site, SiteScopedQuerySet

ROOT = Path(__file__).resolve().parents[2]


def test_every_andon_model_declares_its_scope_and_the_check_passes():
    assert len(andon_models()) > 20
    assert scope_errors(andon_models()) == []
    assert admin_errors() == []


@isolate_apps("mes")
def test_a_model_without_a_scope_is_refused():
    class Gadget(models.Model):
        site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "mes"

    class Widget(models.Model):
        site_path = "gadget"  # ends at a Gadget, not at a Site
        gadget = models.ForeignKey(Gadget, on_delete=models.CASCADE)
        objects = SiteScopedQuerySet.as_manager()

        class Meta:
            app_label = "mes"

    class Plain(models.Model):
        scope = "global"  # declared, but its manager cannot scope

        class Meta:
            app_label = "mes"

    class Fine(models.Model):
        scope = "global"
        objects = GlobalQuerySet.as_manager()

        class Meta:
            app_label = "mes"

    found = {(e.obj.__name__, e.id) for e in scope_errors([Gadget, Widget, Plain, Fine])}
    assert found == {
        ("Gadget", "andon.E001"),
        ("Widget", "andon.E002"),
        ("Plain", "andon.E003"),
    }


def test_an_unscoped_admin_is_refused():
    from mes.models import WorkOrder

    site = admin.AdminSite(name="probe")
    site.register(WorkOrder, admin.ModelAdmin)
    (error,) = admin_errors(site)
    assert error.id == "andon.E004"
    assert "mes.WorkOrder" in error.msg


def test_an_unscoped_inline_is_refused():
    from mes.admin.base import ScopedAdminMixin
    from mes.models import Operation, WorkOrder

    class Operations(admin.TabularInline):
        model = Operation

    class Orders(ScopedAdminMixin, admin.ModelAdmin):
        inlines = [Operations]

    site = admin.AdminSite(name="probe")
    site.register(WorkOrder, Orders)
    (error,) = admin_errors(site)
    assert error.id == "andon.E004"
    assert "Operations" in error.msg


def test_startup_fails_with_a_plugin_model_that_declares_no_scope():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(DJANGO_SETTINGS_MODULE="andon.settings", ANDON_EXTRA_APPS="tests.plugins.unscoped")
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "andon.E001" in result.stderr
    assert "unscoped.Gadget does not declare how it reaches its site" in result.stderr


def test_every_api_viewset_is_scoped():
    routes = collect("api.urls", "routes")
    assert routes
    assert [name for _p, viewset, name in routes if not issubclass(viewset, ScopedViewSet)] == []
