"""Issue 13: docs/erp.md's walk-through, "From a fresh Tryton to the first synced order",
step by step, through Andon's admin against a real trytond (step 1 is
tests/integrations/tryton_setup.py: the service user, its groups and its REST key)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone

from integrations.erp import outbound
from integrations.erp.models import ErpDelivery, ErpEndpoint
from mes import services
from mes.models import WorkOrder
from tests.admin_helpers import endpoint_form

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

DUE = dt.date(2026, 8, 14)
OPTIONS = (
    '{"warehouses": {"WH": "P1"}, "routing": ['
    '{"sequence": 10, "work_center": "ASM", "setup_minutes": 15, "run_minutes_per_unit": 0.5}, '
    '{"sequence": 20, "work_center": "TEST", "setup_minutes": 0, "run_minutes_per_unit": 1}]}'
)


def test_from_a_fresh_tryton_to_the_first_synced_order(tryton, p1, relay):
    admin = Client()
    root = User.objects.create_superuser("root", password="pw")
    admin.force_login(root)
    production = tryton.create_production(6, DUE)
    tryton.change_production(production["id"], {"reference": "SO/2026/0077"})

    # 2. the account the orders are imported as
    until = timezone.localtime() + dt.timedelta(days=60)
    made = admin.post(
        "/admin/auth/user/add/",
        {
            "username": "tryton",
            "usable_password": "false",
            "roles": [str(Group.objects.get(name="erp_integration").pk)],
            "sites": [str(p1.pk)],
            "kind": "service",
            "sponsor": str(root.pk),
            "expires_at_0": until.strftime("%Y-%m-%d"),
            "expires_at_1": until.strftime("%H:%M:%S"),
        },
    )
    assert made.status_code == 302, made.context["adminform"].form.errors if made.context else made
    account = User.objects.get(username="tryton")
    assert account.account_profile.kind == "service"

    # 3. the routing's work centers (the form names the one missing)
    for code in ("ASM", "TEST"):
        added = admin.post(
            "/admin/mes/workcenter/add/",
            {
                "site": str(p1.pk),
                "code": code,
                "name": code,
                "kind": "assembly",
                "is_active": "on",
                "machines-TOTAL_FORMS": "0",
                "machines-INITIAL_FORMS": "0",
            },
        )
        if code == "ASM":
            early = admin.post("/admin/erp/erpendpoint/add/", _endpoint(tryton, p1, account))
            assert "work center TEST does not exist at P1" in early.content.decode()
        assert added.status_code == 302, code

    # 4. the endpoint
    saved = admin.post("/admin/erp/erpendpoint/add/", _endpoint(tryton, p1, account))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    endpoint = ErpEndpoint.objects.get(name="Tryton")

    # 5. Sync now, on the endpoint's page
    page = f"/admin/erp/erpendpoint/{endpoint.pk}/"
    assert admin.post(f"{page}sync/").status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.sync_summary["created"] == 1 and endpoint.synced_ok_at is not None
    assert "ok, " in admin.get("/admin/erp/erpendpoint/").content.decode()
    wo = WorkOrder.objects.get(erp_number=production["number"])
    assert (wo.erp_reference, wo.planned_qty, wo.due_date) == ("SO/2026/0077", 6, DUE)
    assert production["number"] in admin.get(f"/floor/{p1.code}/").content.decode()

    # 6. finished on the floor: done in Tryton with the good quantity
    services.release_work_order(wo, actor=None)
    for op in wo.operations.order_by("sequence"):
        services.confirm_operation(op, actor=None, good_qty=6, final=True)
    services.complete_work_order(wo, actor=None)
    relay()
    outbound.deliver_endpoint_now(endpoint.pk)
    delivery = ErpDelivery.objects.get(endpoint=endpoint, event__type="work_order.completed")
    assert delivery.status == "delivered", delivery.last_error
    assert tryton.production(production["id"])["state"] == "done"


def _endpoint(tryton, p1, account) -> dict:
    return endpoint_form(
        name="Tryton",
        adapter="tryton",
        base_url=tryton.url,
        auth_value=tryton.key,
        account=str(account.pk),
        sites=[str(p1.pk)],
        event_types=["work_order.completed", "work_order.cancelled"],
        options=OPTIONS,
    )
