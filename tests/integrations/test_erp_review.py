"""Issue 13, from a review of its changes: a refused record leaves the batch's view of its
order as the database has it; an endpoint's owner who does not see every site it serves is
told no other site's orders; the options are checked against the endpoint's own sites; an
unexpected failure of an import is recorded, not a 500; secrets never reach stored errors;
a null reference, an inactive endpoint and a cancellation without a date are handled."""

import datetime as dt
import json

import pytest
from django.test import Client

from integrations.erp import outbound, tryton
from integrations.erp.admin import ErpEndpointForm
from integrations.erp.destinations import redact
from integrations.erp.inbound import orders
from mes import services
from mes.errors import DomainError
from mes.models import Notification, WorkOrder
from tests.admin_helpers import endpoint_form
from tests.factories import MachineFactory, make_endpoint, make_user, make_work_order
from tests.integrations.test_erp_batch import order, send, statuses

pytestmark = pytest.mark.django_db


def test_a_refused_record_leaves_the_batch_view_as_the_database_has_it(
    plant, client_for, monkeypatch
):
    send(client_for, plant["erp"], [order("R/1")])
    wo = WorkOrder.objects.get(erp_number="R/1")
    services.release_work_order(wo, actor=None)
    machine = MachineFactory(work_center=plant["wc"], site=wo.site)
    services.start_operation(wo.operations.get(sequence=10), actor=None, machine=machine)
    real, calls = orders._raise_order_change, []

    def fails_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise DomainError("the decision could not be raised", code="busy")
        return real(*args, **kwargs)

    monkeypatch.setattr(orders, "_raise_order_change", fails_once)
    change = order("R/1", version=2, quantity=300)
    answer = send(client_for, plant["erp"], [change, change])
    assert statuses(answer) == [("R/1", "rejected"), ("R/1", "updated")]
    assert answer.json()["results"][1]["order_change"]
    wo.refresh_from_db()
    assert wo.erp_version == 2


def test_an_owner_who_sees_some_sites_is_told_the_count_only(p1, p2):
    owner = make_user("manager_p1", "manager", [p1], is_staff=True)
    endpoint = make_endpoint(p1, p2, name="Both", adapter="tryton", owner=owner)
    problem = {"erp_number": "MO/P2-7", "erp_version": 1, "code": "x", "status": "rejected"}
    tryton._tell_new_rejections(endpoint, {}, [{**problem, "detail": "P2's order"}])
    told = Notification.objects.get(user=owner)
    assert "MO/P2-7" not in told.body and "1" in told.title


def test_the_options_are_checked_against_the_endpoints_own_sites(p1, p2):
    routing = [{"sequence": 10, "work_center": "X", "setup_minutes": 0, "run_minutes_per_unit": 1}]
    form = ErpEndpointForm(
        data={
            "name": "Probe",
            "adapter": "tryton",
            "base_url": "https://93.184.215.14/db/",
            "auth_header": "Authorization",
            "auth_value": "key",
            "sites": [str(p1.pk)],
            "account": str(make_user("erp", "erp_integration", [p1]).pk),
            "options": json.dumps({"warehouses": {"WH": "P2"}, "routing": routing}),
            "mapping": "{}",
            "max_attempts": "8",
            "timeout_seconds": "10",
        }
    )
    assert not form.is_valid()
    said = " ".join(form.errors["options"])
    assert "not: P2" in said and "does not exist at P2" not in said


def test_an_unexpected_failure_of_an_import_is_recorded_not_a_500(p1, monkeypatch):
    endpoint = make_endpoint(p1, name="T", adapter="tryton", base_url="http://127.0.0.1:9/")

    def broken(_endpoint):
        raise TypeError("an answer nobody foresaw")

    monkeypatch.setattr(outbound.adapters["tryton"], "sync", broken)
    with pytest.raises(outbound.SyncFailed, match="unexpectedly"):
        outbound.sync_now(endpoint)
    endpoint.refresh_from_db()
    assert "TypeError" in endpoint.sync_summary["error"]


def test_secrets_are_taken_out_of_what_is_stored():
    page = "<pre>Authorization: Bearer s3cr3t-key-0042</pre>"
    assert redact(page, ["s3cr3t-key-0042", ""]) == "<pre>Authorization: Bearer [secret]</pre>"


def test_a_null_reference_is_no_reference(plant, client_for):
    answer = send(client_for, plant["erp"], [order("N/1", reference=None)])
    assert statuses(answer) == [("N/1", "created")]
    assert WorkOrder.objects.get(erp_number="N/1").erp_reference == ""


def test_an_inactive_endpoint_is_not_synced_from_its_page(p1):
    boss = make_user("boss", "manager", [p1], is_staff=True)
    endpoint = make_endpoint(p1, name="Off", adapter="tryton", base_url="http://127.0.0.1:9/")
    endpoint.is_active = False
    endpoint.save()
    browser = Client()
    browser.force_login(boss)
    page = browser.post(f"/admin/erp/erpendpoint/{endpoint.pk}/sync/", follow=True)
    assert "is not active" in page.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.synced_at is None


def test_a_cancellation_without_a_date_is_still_sent(p1):
    make_work_order(p1, erp_number="MO/9")
    changed = dt.datetime(2026, 8, 1, tzinfo=dt.UTC)
    production = {
        "number": "MO/9",
        "state": "cancelled",
        "warehouse": {"code": "WH"},
        "product": {"code": "FG-1"},
        "quantity": 1,
        "write_date": changed,
    }
    options = {"warehouses": {"WH": "P1"}, "routing": []}
    records, _skipped, undated = tryton._records([production], options)
    assert undated == [] and [r["status"] for r in records] == ["cancelled"]
    assert records[0]["due_date"]  # any date: a cancellation changes none


def test_an_erp_call_waits_a_minute_at_most_whatever_the_endpoint_says(p1, settings):
    """Issue 14 (ERP delivery): a timeout an admin could set to hours held a worker as long."""
    browser = Client()
    browser.force_login(make_user("boss", "manager", [p1], is_staff=True))
    form = {**endpoint_form(sites=[str(p1.pk)]), "timeout_seconds": "3600"}
    page = browser.post("/admin/erp/erpendpoint/add/", form)
    assert page.status_code == 200 and "timeout_seconds" in page.context["adminform"].form.errors
    stored = make_endpoint(p1, name="Old", base_url="http://127.0.0.1:9/", timeout_seconds=3600)
    settings.ANDON_ERP_TIMEOUT_MAX = 20
    assert stored.call_timeout() == 20.0
