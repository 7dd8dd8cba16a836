"""Issue 12, hole 3: an endpoint's secrets are write-only (never in a page, a history row, an
event or a log), it never calls this machine or a private network unless allowed, and what an
ERP answers is kept as a short, printable excerpt."""

import logging

import pytest
from django.test import Client

from integrations.erp import outbound
from integrations.erp.destinations import UnsafeDestination, check_destination
from integrations.erp.models import ErpDelivery, ErpEndpoint
from mes import services
from mes.models import OutboxEvent
from tests.admin_helpers import endpoint_form
from tests.factories import make_endpoint, make_user, make_work_order
from tests.integrations.flaky_erp import FlakyErp

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("require_postgres")]

AUTH, HMAC = "Bearer SUPERSECRET-AUTH", "SUPERSECRET-HMAC"
PUBLIC = "https://93.184.215.14/andon"


@pytest.fixture
def endpoint(p1):
    return make_endpoint(
        p1,
        name="ERP",
        base_url=PUBLIC,
        auth_value=AUTH,
        hmac_secret=HMAC,
        event_types=["work_order.held"],
    )


@pytest.fixture
def browser(p1):
    client = Client()
    client.force_login(make_user("manager_p1", "manager", [p1], is_staff=True))
    return client


def test_the_change_page_never_shows_a_secret_but_says_it_is_set(endpoint, browser):
    page = browser.get(f"/admin/erp/erpendpoint/{endpoint.pk}/change/").content.decode()
    assert AUTH not in page and HMAC not in page and "SUPERSECRET" not in page
    assert page.count("set (hidden)") == 2
    assert 'name="auth_value__clear"' in page


def test_a_blank_secret_keeps_it_a_new_one_replaces_it_and_clear_clears_it(endpoint, browser):
    url = f"/admin/erp/erpendpoint/{endpoint.pk}/change/"
    assert browser.post(url, endpoint_form(endpoint, timeout_seconds="5")).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.auth_value, endpoint.hmac_secret, endpoint.timeout_seconds) == (AUTH, HMAC, 5)
    assert browser.post(url, endpoint_form(endpoint, hmac_secret="new-hmac")).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.auth_value, endpoint.hmac_secret) == (AUTH, "new-hmac")
    assert browser.post(url, endpoint_form(endpoint, auth_value__clear="on")).status_code == 302
    endpoint.refresh_from_db()
    assert (endpoint.auth_value, endpoint.hmac_secret) == ("", "new-hmac")


def test_secrets_stay_out_of_history_events_and_the_history_page(endpoint, browser, caplog):
    url = f"/admin/erp/erpendpoint/{endpoint.pk}/change/"
    caplog.set_level(logging.DEBUG)
    browser.post(
        url, endpoint_form(endpoint, auth_value="Bearer ROTATED-9", hmac_secret="HMAC-ROTATED-9")
    )
    endpoint.refresh_from_db()
    assert endpoint.auth_value == "Bearer ROTATED-9"
    history = endpoint.history.first()
    assert not hasattr(history, "hmac_secret") and not hasattr(history, "auth_value")
    assert "auth value" in history.history_change_reason  # that it changed is history
    event = OutboxEvent.objects.get(type="erp_endpoint.changed")
    assert set(event.payload["changed"]) >= {"auth_value", "hmac_secret"}
    assert "ROTATED" not in str(event.payload) and "SUPERSECRET" not in str(event.payload)
    assert "ROTATED" not in caplog.text and "SUPERSECRET" not in caplog.text
    listing = browser.get(f"/admin/erp/erpendpoint/{endpoint.pk}/history/").content.decode()
    assert "ROTATED" not in listing and "SUPERSECRET" not in listing

    # A version loaded back into the form (a revert) brings no secret back, nor a crash.
    loaded = browser.get(f"{url}?from_history={history.history_id}")
    assert loaded.status_code == 200
    assert "ROTATED" not in loaded.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/admin/",
        "http://localhost/",
        "http://[::1]/x",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/erp",
        "http://192.168.1.20/erp",
        "http://[::ffff:127.0.0.1]/x",
        "http://0.0.0.0/",
        "http://user:pass@93.184.215.14/",
        "ftp://93.184.215.14/",
    ],
)
def test_local_and_private_destinations_are_refused(url, settings):
    settings.ANDON_ERP_ALLOWED_HOSTS = []
    with pytest.raises(UnsafeDestination):
        check_destination(url)


def test_erp_allowed_hosts_admits_the_plants_own_erp(settings):
    settings.ANDON_ERP_ALLOWED_HOSTS = ["10.20.0.0/16", "localhost"]
    check_destination("http://10.20.3.4/erp")
    check_destination("http://localhost:8069/")
    check_destination(PUBLIC)
    with pytest.raises(UnsafeDestination):
        check_destination("http://10.21.0.1/erp")


def test_the_form_refuses_a_private_address(endpoint, browser, settings):
    settings.ANDON_ERP_ALLOWED_HOSTS = []
    url = f"/admin/erp/erpendpoint/{endpoint.pk}/change/"
    page = browser.post(url, endpoint_form(endpoint, base_url="http://169.254.169.254/latest/"))
    assert page.status_code == 200
    assert "ERP_ALLOWED_HOSTS" in page.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.base_url == PUBLIC


def test_a_delivery_to_a_refused_address_is_never_sent(p1, relay, settings):
    """Allowed when saved, refused when sent (a setting or a name changed since): dead letter
    at once, without a connection."""
    with FlakyErp("", weights={"ok": 1}) as erp:
        ep = make_endpoint(p1, name="ERP", base_url=erp.url, event_types=["work_order.held"])
        services.hold_work_order(
            make_work_order(p1, status="released"), actor=None, reason="no steel"
        )
        relay()
        settings.ANDON_ERP_ALLOWED_HOSTS = []
        outbound.deliver_endpoint_now(ep.pk)
    delivery = ErpDelivery.objects.get()
    assert delivery.status == "dead" and delivery.attempts == 1
    assert "ERP_ALLOWED_HOSTS" in delivery.last_error
    assert sum(erp.received.values()) == 0


def test_only_a_short_printable_excerpt_of_the_answer_is_kept(p1, relay, settings):
    settings.ANDON_ERP_BACKOFF = 0
    with FlakyErp("", weights={"error": 1}) as erp:
        erp.answer = b"<script>alert(1)</script>\x00\x1b[31m" + b"A" * 100_000
        ep = make_endpoint(
            p1, name="ERP", base_url=erp.url, event_types=["work_order.held"], max_attempts=1
        )
        services.hold_work_order(
            make_work_order(p1, status="released"), actor=None, reason="no steel"
        )
        relay()
        outbound.deliver_endpoint_now(ep.pk)
    delivery = ErpDelivery.objects.get()
    assert len(delivery.response_body) <= 301 and len(delivery.last_error) <= 220
    assert "\x00" not in delivery.response_body and "\x1b" not in delivery.last_error
    admin = make_user("boss", "manager", [p1], is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(admin)
    page = browser.get(f"/admin/erp/erpdelivery/{delivery.pk}/change/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_the_endpoint_service_refuses_a_script_pointing_at_another_sites_events(p1, p2):
    from integrations.erp.services import save_endpoint
    from mes.errors import InvalidInput, NotPermitted

    manager = make_user("manager_p1", "manager", [p1], is_staff=True)
    with pytest.raises(NotPermitted):
        save_endpoint(ErpEndpoint(name="x", base_url=PUBLIC), actor=manager, sites=[p2])
    with pytest.raises(InvalidInput):
        save_endpoint(ErpEndpoint(name="x", base_url=PUBLIC), actor=manager, sites=[])
    assert not ErpEndpoint.objects.exists()
