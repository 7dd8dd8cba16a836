"""ERP endpoints and deliveries are scoped like every other record: a manager of one site sees
the endpoints that serve only sites they manage, and the deliveries of their sites' events."""

import pytest
from django.test import Client

from integrations.erp.models import ErpDelivery, ErpEndpoint
from mes import services
from tests.admin_helpers import endpoint_form
from tests.factories import make_user, make_work_order

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]


def _endpoint(name, *sites):
    endpoint = ErpEndpoint.objects.create(
        name=name, adapter="pull", event_types=["work_order.held"]
    )
    endpoint.sites.set(sites)
    return endpoint


@pytest.fixture
def endpoints(p1, p2):
    return {
        "p1": _endpoint("P1 only", p1),
        "p2": _endpoint("P2 only", p2),
        "both": _endpoint("P1 and P2", p1, p2),
        "none": _endpoint("no site"),
    }


def test_a_site_manager_sees_endpoints_serving_their_sites_and_changes_only_their_own(
    p1, p2, endpoints
):
    p1_manager = make_user("manager_p1", "manager", [p1], is_staff=True)
    boss = make_user("boss", "manager", [p1, p2], is_staff=True)
    visible = ErpEndpoint.objects.visible_to(p1_manager)
    assert set(visible.values_list("name", flat=True)) == {"P1 only", "P1 and P2"}
    manageable = ErpEndpoint.objects.manageable_by(p1_manager)
    assert set(manageable.values_list("name", flat=True)) == {"P1 only"}
    everything = {"P1 only", "P2 only", "P1 and P2"}  # "no site" serves (and shows) nothing
    assert set(ErpEndpoint.objects.visible_to(boss).values_list("name", flat=True)) == everything
    assert set(ErpEndpoint.objects.manageable_by(boss).values_list("name", flat=True)) == everything

    browser = Client()
    browser.force_login(p1_manager)
    listing = browser.get("/admin/erp/erpendpoint/").content.decode()
    assert "P1 only" in listing and "P1 and P2" in listing
    assert "P2 only" not in listing
    hidden = endpoints["p2"].pk
    assert browser.get(f"/admin/erp/erpendpoint/{hidden}/change/").status_code == 302
    assert browser.get(f"/admin/erp/erpendpoint/{hidden}/history/").status_code == 404
    # an endpoint that also serves P2 is shown read-only: a POST changes nothing
    shared = endpoints["both"]
    page = browser.get(f"/admin/erp/erpendpoint/{shared.pk}/change/").content.decode()
    assert 'name="base_url"' not in page
    browser.post(f"/admin/erp/erpendpoint/{shared.pk}/change/", {"name": "hijacked"})
    shared.refresh_from_db()
    assert shared.name == "P1 and P2"
    own = browser.get(f"/admin/erp/erpendpoint/{endpoints['p1'].pk}/change/").content.decode()
    assert 'name="base_url"' in own
    # and the site choices of the form are their own sites only
    form = browser.get("/admin/erp/erpendpoint/add/").content.decode()
    assert "Zakład Gliwice" in form and "Werk Zwickau" not in form


def test_deliveries_of_another_sites_events_are_invisible(p1, p2, endpoints, relay):
    p1_manager = make_user("manager_p1", "manager", [p1], is_staff=True)
    for site, number in ((p1, "ZP/2026/12/0001"), (p2, "FA26-004501")):
        services.hold_work_order(
            make_work_order(site, erp_number=number, status="released"), actor=None, reason="x"
        )
    relay()
    assert ErpDelivery.objects.filter(event__site=p2).exists()
    visible = ErpDelivery.objects.visible_to(p1_manager)
    assert {d.event.site_id for d in visible} == {p1.pk}

    browser = Client()
    browser.force_login(p1_manager)
    search = browser.get("/admin/erp/erpdelivery/", {"q": "FA26"}).content.decode()
    assert "FA26-004501" not in search
    p2_delivery = ErpDelivery.objects.filter(event__site=p2).first()
    assert browser.get(f"/admin/erp/erpdelivery/{p2_delivery.pk}/change/").status_code == 302


def test_the_reconciliation_page_offers_only_visible_endpoints(p1, p2, endpoints):
    p1_manager = make_user("manager_p1", "manager", [p1], is_staff=True)
    browser = Client()
    browser.force_login(p1_manager)
    page = browser.get("/erp/reconciliation/").content.decode()
    assert "P1 only" in page and "P1 and P2" in page
    assert "P2 only" not in page and "no site" not in page
    asked = browser.get("/erp/reconciliation/", {"endpoint": endpoints["p2"].pk})
    assert asked.status_code == 400  # another site's endpoint: "no such ERP endpoint"


def test_an_endpoint_names_its_sites_and_a_manager_only_its_own(p1, p2, endpoints, relay):
    """A manager of P1 alone cannot point P2's events anywhere (issue 12, hole 2)."""
    browser = Client()
    browser.force_login(make_user("manager_p1", "manager", [p1], is_staff=True))
    page = browser.post("/admin/erp/erpendpoint/add/", endpoint_form())
    assert page.status_code == 200
    assert "This field is required" in page.content.decode()
    p2_choice = browser.post("/admin/erp/erpendpoint/add/", endpoint_form(sites=[str(p2.pk)]))
    assert p2_choice.status_code == 200
    assert not ErpEndpoint.objects.filter(name="Mine").exists()
    # an endpoint without sites (made before, or by a script) receives nothing at all
    services.hold_work_order(
        make_work_order(p2, erp_number="FA26-004501", status="released"), actor=None, reason="x"
    )
    relay()
    assert not ErpDelivery.objects.filter(endpoint=endpoints["none"]).exists()
    assert ErpDelivery.objects.filter(endpoint=endpoints["p2"]).exists()
    assert not ErpEndpoint.objects.filter(name="Mine").exists()
    own = endpoints["p1"]
    browser.post(f"/admin/erp/erpendpoint/{own.pk}/change/", endpoint_form(name=own.name))
    assert list(own.sites.values_list("code", flat=True)) == ["P1"]
    # naming their own site is fine
    done = browser.post("/admin/erp/erpendpoint/add/", endpoint_form(sites=[str(p1.pk)]))
    assert done.status_code == 302
    assert list(ErpEndpoint.objects.get(name="Mine").sites.all()) == [p1]


def test_secrets_of_an_endpoint_shown_read_only_stay_hidden(p1, p2, endpoints):
    shared = endpoints["both"]
    shared.auth_value, shared.hmac_secret = "Bearer SUPERSECRET", "HMAC-SECRET"
    shared.save()
    browser = Client()
    browser.force_login(make_user("manager_p1", "manager", [p1], is_staff=True))
    page = browser.get(f"/admin/erp/erpendpoint/{shared.pk}/change/").content.decode()
    assert "SUPERSECRET" not in page and "HMAC-SECRET" not in page
    assert "set (hidden)" in page


def test_sync_now_refuses_an_endpoint_shared_with_another_site(p1, p2, endpoints, monkeypatch):
    from integrations.erp import outbound

    synced = []
    monkeypatch.setattr(outbound, "polls", lambda endpoint: True)
    monkeypatch.setattr(outbound, "sync_now", lambda endpoint: synced.append(endpoint) or {})
    browser = Client()
    browser.force_login(make_user("manager_p1", "manager", [p1], is_staff=True))
    browser.post(
        "/admin/erp/erpendpoint/",
        {"action": "sync_now", "_selected_action": [endpoints["both"].pk, endpoints["p1"].pk]},
    )
    assert synced == [endpoints["p1"]]


def test_delivery_list_and_choices_name_nothing_of_another_site(p1, p2, endpoints, relay):
    secret = _endpoint("SECRET-P2-ERP", p2)
    make_user("p2_erp_bot", "erp_integration", [p2])
    services.hold_work_order(
        make_work_order(p1, erp_number="ZP/2026/12/0001", status="released"),
        actor=None,
        reason="x",
    )
    relay()
    browser = Client()
    browser.force_login(make_user("manager_p1", "manager", [p1], is_staff=True))
    listing = browser.get("/admin/erp/erpdelivery/").content.decode()
    assert secret.name not in listing
    form = browser.get("/admin/erp/erpendpoint/add/").content.decode()
    assert "p2_erp_bot" not in form  # owner and account choices: accounts of their sites
    delivery = ErpDelivery.objects.first()
    change = browser.get(f"/admin/erp/erpdelivery/{delivery.pk}/change/").content.decode()
    assert 'name="_save"' not in change  # a delivery is never edited


def test_a_tryton_endpoint_imports_into_its_own_sites_only(p1, p2):
    """Hostile review: an endpoint serving P1 whose ERP account also holds P2 mapped a
    warehouse to P2 and imported (or cancelled) P2's orders on "Sync now"."""
    from integrations.erp import tryton
    from tests.factories import WorkCenterFactory, make_endpoint

    for site in (p1, p2):
        WorkCenterFactory(site=site, code="WC-1")
    erp = make_user("erp_both", "erp_integration", [p1, p2])
    routing = [
        {"sequence": 10, "work_center": "WC-1", "setup_minutes": 0, "run_minutes_per_unit": 1}
    ]
    endpoint = make_endpoint(
        p1,
        name="Tryton P1",
        adapter="tryton",
        base_url="http://127.0.0.1:9/",
        account=erp,
        options={"warehouses": {"WH1": "P1", "WH2": "P2"}, "routing": routing},
    )
    with pytest.raises(tryton.SyncFailed, match="does not serve: P2"):
        tryton.sync(endpoint)
    assert tryton.option_errors({"warehouses": {"WH": ["P1"]}, "routing": routing})


def test_the_last_sync_of_an_endpoint_serving_other_sites_is_not_shown(p1, p2, endpoints):
    both = endpoints["both"]
    both.sync_summary = {"problems": [{"erp_number": "ZP/P2-0042", "status": "rejected"}]}
    both.save()
    browser = Client()
    browser.force_login(make_user("manager_p1", "manager", [p1], is_staff=True))
    page = browser.get(f"/admin/erp/erpendpoint/{both.pk}/change/")
    assert page.status_code == 200 and "ZP/P2-0042" not in page.content.decode()


def test_an_account_held_by_another_endpoint_is_named_with_what_to_do(p1, p2):
    """Issue 13, 6: "ERP endpoint with this ERP account already exists" did not say which."""
    from tests.factories import make_endpoint

    erp = make_user("erp", "erp_integration", [p1, p2])
    make_endpoint(p1, name="Demo feed", adapter="pull", account=erp)
    boss = make_user("boss", "manager", [p1, p2], is_staff=True)
    browser = Client()
    browser.force_login(boss)
    form = endpoint_form(name="Tryton", sites=[str(p1.pk)], account=str(erp.pk))
    page = browser.post("/admin/erp/erpendpoint/add/", form)
    errors = page.context["adminform"].form.errors["account"]
    assert "“Demo feed”" in errors[0] and "erp_integration" in errors[0]
    assert ErpEndpoint.objects.filter(name="Tryton").count() == 0


def test_the_routing_of_a_tryton_endpoint_names_work_centers_that_exist(p1, p2):
    """Issue 13, 7: the docs' example routing was accepted, then every order was rejected on
    every sync (its work center did not exist)."""
    from integrations.erp import tryton
    from tests.factories import WorkCenterFactory

    WorkCenterFactory(site=p1, code="ASM")
    routing = [
        {"sequence": 10, "work_center": "ASM", "setup_minutes": 15, "run_minutes_per_unit": 0.5},
        {"sequence": 20, "work_center": "TEST", "setup_minutes": 0, "run_minutes_per_unit": 1},
    ]
    errors = tryton.option_errors({"warehouses": {"WH": "P1", "WH2": "P2"}, "routing": routing})
    assert errors == [
        "routing: work center TEST does not exist at P1.",
        "routing: work center ASM does not exist at P2.",
        "routing: work center TEST does not exist at P2.",
    ]
    WorkCenterFactory(site=p1, code="TEST")
    assert tryton.option_errors({"warehouses": {"WH": "P1"}, "routing": routing}) == []
