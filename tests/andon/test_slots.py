"""The core's pages know no other app: exceptions and the ERP add their links through slots,
and a new capability adds its own the same way."""

import re
from pathlib import Path

import pytest
from django.test import Client

from mes.pages import slots
from tests.factories import make_user, make_work_order

ROOT = Path(__file__).resolve().parents[2]


def test_the_core_templates_name_no_other_app():
    core = [ROOT / "templates" / "base.html", *sorted((ROOT / "templates" / "mes").glob("*.html"))]
    offending = {
        str(path.relative_to(ROOT)): hits
        for path in core
        if (
            hits := re.findall(
                r"exception_tags|'exceptions:|'erp-|perms\.(?:exceptions|erp)\.", path.read_text()
            )
        )
    }
    assert offending == {}


@pytest.mark.django_db
def test_a_capability_adds_a_button_to_the_work_order_page(p1, tmp_path, settings):
    (tmp_path / "probe.html").write_text('<a class="btn" href="/holds/{{ wo.pk }}/">Place hold</a>')
    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [*settings.TEMPLATES[0]["DIRS"], tmp_path]}
    ]
    wo = make_work_order(p1, status="released")
    browser = Client()
    browser.force_login(make_user("supervisor_slot", "supervisor", [p1]))
    slots.register("work_order.actions", "probe.html")
    try:
        page = browser.get(f"/work-orders/{wo.pk}/").content.decode()
    finally:
        slots.get("work_order.actions").remove("probe.html")
    assert f'href="/holds/{wo.pk}/">Place hold</a>' in page
    assert "Raise exception" in page  # the exceptions app's own slot, still there
