"""Server-rendered pages: login, site list, floor board, work order page and its actions."""

import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse

from mes import services
from mes.models import WorkOrder
from tests.factories import MachineFactory, WorkCenterFactory, make_work_order

pytestmark = pytest.mark.django_db


def client_logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def section(response, name: str) -> str:
    """The HTML of ``<section id="name">`` on the page."""
    html = response.content.decode()
    match = re.search(rf'<section[^>]* id="{name}"[^>]*>(.*?)</section>', html, re.DOTALL)
    assert match, f"no section {name}"
    return match.group(1)


def running_order(site, erp_number: str) -> WorkOrder:
    wc = WorkCenterFactory(site=site)
    machine = MachineFactory(work_center=wc)
    wo = make_work_order(site, erp_number=erp_number, status="released", work_centers=[wc])
    services.start_operation(
        wo.operations.order_by("sequence").first(), actor=None, machine=machine
    )
    return wo


# --- login and anonymous access ----------------------------------------------------------


def test_login_page_renders_for_anonymous():
    response = Client().get(reverse("login"))

    assert response.status_code == 200
    assert 'name="password"' in response.content.decode()


@pytest.mark.parametrize(
    "url",
    [
        reverse("home"),
        reverse("floor", args=["P1"]),
        reverse("work-order", args=[1]),
    ],
)
def test_pages_redirect_anonymous_to_login(url):
    response = Client().get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_with_password_lands_on_home(p1, user_in):
    user = user_in("supervisor", p1)
    client = Client()

    response = client.post(reverse("login"), {"username": user.username, "password": "pw"})

    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.get(reverse("home")).status_code == 200


def test_logout_is_a_post(p1, user_in):
    client = client_logged_in(user_in("supervisor", p1))

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 302


# --- home --------------------------------------------------------------------------------


def test_home_lists_only_the_users_sites(p1, p2, user_in):
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(reverse("home"))

    assert response.status_code == 200
    summaries = response.context["summaries"]
    assert [s.site.code for s in summaries] == ["P1"]
    html = response.content.decode()
    assert reverse("floor", args=["P1"]) in html
    assert reverse("floor", args=["P2"]) not in html
    assert p2.name not in html


def test_home_counts_running_queued_and_behind(p1, p2, user_in):
    running_order(p1, "WO-RUN")
    make_work_order(p1, erp_number="WO-LATE", status="released", due_date=datetime.date(2020, 1, 1))
    make_work_order(
        p2, erp_number="WO-OTHER", status="released", due_date=datetime.date(2020, 1, 1)
    )
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(reverse("home"))

    (summary,) = response.context["summaries"]
    assert summary.running == 1
    assert summary.queued == 3  # second op of WO-RUN and both ops of WO-LATE
    assert summary.behind == 1


# --- floor -------------------------------------------------------------------------------


def test_floor_shows_own_sites_running_queued_and_behind_only(p1, p2, user_in):
    running_order(p1, "WO-P1-RUN")
    make_work_order(p1, erp_number="WO-P1-QUEUED", status="released")
    make_work_order(
        p1, erp_number="WO-P1-LATE", status="released", due_date=datetime.date(2020, 1, 1)
    )
    running_order(p2, "WO-P2-RUN")
    make_work_order(p2, erp_number="WO-P2-QUEUED", status="released")
    make_work_order(
        p2, erp_number="WO-P2-LATE", status="released", due_date=datetime.date(2020, 1, 1)
    )
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(reverse("floor", args=["P1"]))

    assert response.status_code == 200
    assert "WO-P1-RUN" in section(response, "running")
    assert "WO-P1-QUEUED" in section(response, "queued")
    assert "WO-P1-LATE" in section(response, "behind")
    assert "WO-P1-QUEUED" not in section(response, "behind")
    assert "WO-P2" not in response.content.decode()


def test_floor_of_another_site_is_404(p1, p2, user_in):
    client = client_logged_in(user_in("supervisor", p1))

    assert client.get(reverse("floor", args=["P2"])).status_code == 404
    assert client.get(reverse("floor", args=["NOPE"])).status_code == 404


def test_behind_order_appears_in_behind_section(p1, user_in):
    late = make_work_order(
        p1, erp_number="WO-LATE", status="released", due_date=datetime.date(2020, 1, 1)
    )
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(reverse("floor", args=["P1"]))

    behind = section(response, "behind")
    assert "WO-LATE" in behind
    assert reverse("work-order", args=[late.pk]) in behind


def test_queued_operations_appear_in_dispatch_order(p1, user_in):
    wc = WorkCenterFactory(site=p1, code="LATHE-1")
    first = make_work_order(p1, erp_number="WO-FIRST", operations=1, work_centers=[wc])
    second = make_work_order(p1, erp_number="WO-SECOND", operations=1, work_centers=[wc])
    services.release_work_order(first, actor=None)
    services.release_work_order(second, actor=None)
    services.hold_work_order(second, actor=None, reason="waiting for material")
    client = client_logged_in(user_in("operator", p1))

    response = client.get(reverse("floor", args=["P1"]))

    queued = section(response, "queued")
    assert "LATHE-1" in queued
    assert queued.index("WO-FIRST") < queued.index("WO-SECOND")
    (queue,) = response.context["board"].queues
    assert [op.work_order.erp_number for op in queue.operations] == ["WO-FIRST", "WO-SECOND"]
    assert [op.dispatch_rank for op in queue.operations] == [1, 2]
    # the held order stays in the queue, marked
    held_row = queued[queued.index("WO-SECOND") :]
    assert "On hold" in held_row
    assert "On hold" not in queued[: queued.index("WO-SECOND")]


def test_floor_times_are_in_the_sites_timezone(p1, user_in):
    wo = running_order(p1, "WO-RUN")
    op = wo.operations.get(status="in_progress")
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(reverse("floor", args=["P1"]))

    local = op.actual_start.astimezone(p1.tzinfo)
    assert local.strftime("%H:%M") in section(response, "running")
    assert "Europe/Warsaw" in response.content.decode()


def test_floor_query_count_is_flat(p1, user_in, django_assert_max_num_queries):
    wcs = [WorkCenterFactory(site=p1) for _ in range(3)]
    for i in range(10):
        make_work_order(
            p1,
            status="released",
            work_centers=wcs,
            operations=3,
            due_date=datetime.date(2020, 1, 1) if i % 2 else None,
        )
    for _i in range(2):
        running_order(p1, f"WO-RUN-{_i}")
    client = client_logged_in(user_in("supervisor", p1))

    with django_assert_max_num_queries(
        17
    ):  # + downtimes waiting for a reason, machine states: flat
        response = client.get(reverse("floor", args=["P1"]))

    assert response.status_code == 200
    assert response.context["board"].queued_count == 32


# --- work order page ---------------------------------------------------------------------


def test_work_order_page_shows_header_operations_and_history(p1, user_in):
    wo = running_order(p1, "WO-DETAIL")
    op = wo.operations.get(status="in_progress")
    services.confirm_operation(op, actor=None, good_qty="7", scrap_qty="2")
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(reverse("work-order", args=[wo.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert "WO-DETAIL" in html
    assert wo.item.code in html
    ops = response.context["operations"]
    assert [o.sequence for o in ops] == [10, 20]
    assert ops[0].good_qty == 7 and ops[0].scrap_qty == 2
    assert ops[0].dispatch_rank is None and ops[1].dispatch_rank == 2  # same work center
    assert len(response.context["confirmations"]) == 1
    wo.refresh_from_db()
    assert response.context["history"][0].status == wo.status == "in_progress"
    assert 'id="history"' in html


def test_work_order_of_another_site_is_404(p1, p2, user_in):
    other = make_work_order(p2, status="released")
    client = client_logged_in(user_in("supervisor", p1))

    assert client.get(reverse("work-order", args=[other.pk])).status_code == 404
    response = client.post(reverse("work-order-action", args=[other.pk, "hold"]), {"reason": "x"})
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == "released"


def test_buttons_follow_status_and_permission(p1, user_in):
    wo = make_work_order(p1, status="released")
    supervisor = client_logged_in(user_in("supervisor", p1))
    operator = client_logged_in(user_in("operator", p1))

    verbs = [a.verb for a in supervisor.get(reverse("work-order", args=[wo.pk])).context["actions"]]
    assert sorted(verbs) == ["cancel", "hold", "start"]
    html = supervisor.get(reverse("work-order", args=[wo.pk])).content.decode()
    assert reverse("work-order-action", args=[wo.pk, "hold"]) in html
    assert reverse("work-order-action", args=[wo.pk, "release"]) not in html
    assert operator.get(reverse("work-order", args=[wo.pk])).context["actions"] == []

    held = make_work_order(p1, status="on_hold")
    verbs = [
        a.verb for a in supervisor.get(reverse("work-order", args=[held.pk])).context["actions"]
    ]
    assert sorted(verbs) == ["cancel", "resume"]


def test_hold_with_reason_puts_order_on_hold_with_history(p1, user_in):
    user = user_in("supervisor", p1)
    wo = make_work_order(p1, status="released")
    client = client_logged_in(user)

    response = client.post(
        reverse("work-order-action", args=[wo.pk, "hold"]), {"reason": "no material"}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("work-order", args=[wo.pk])
    wo.refresh_from_db()
    assert wo.status == "on_hold"
    latest = wo.history.first()
    assert latest.status == "on_hold"
    assert latest.history_change_reason == "no material"
    assert latest.history_user == user
    page = client.get(response["Location"])
    assert "no material" in section(page, "history")


def test_hold_without_reason_changes_nothing_and_shows_error(p1, user_in):
    wo = make_work_order(p1, status="released")
    history_rows = wo.history.count()
    client = client_logged_in(user_in("supervisor", p1))

    response = client.post(
        reverse("work-order-action", args=[wo.pk, "hold"]), {"reason": "  "}, follow=True
    )

    assert response.status_code == 200
    wo.refresh_from_db()
    assert wo.status == "released"
    assert wo.history.count() == history_rows
    assert "A reason is required." in response.content.decode()


def test_refused_transition_shows_error(p1, user_in):
    wo = make_work_order(p1, status="released")
    client = client_logged_in(user_in("supervisor", p1))

    response = client.post(reverse("work-order-action", args=[wo.pk, "close"]), follow=True)

    wo.refresh_from_db()
    assert wo.status == "released"
    assert "cannot go from" in response.content.decode()


def test_start_and_resume_through_the_page(p1, user_in):
    wo = make_work_order(p1, status="released")
    client = client_logged_in(user_in("supervisor", p1))

    client.post(reverse("work-order-action", args=[wo.pk, "start"]))
    client.post(reverse("work-order-action", args=[wo.pk, "hold"]), {"reason": "tool broke"})
    client.post(reverse("work-order-action", args=[wo.pk, "resume"]))

    wo.refresh_from_db()
    assert wo.status == "in_progress"


def test_unknown_verb_is_404_and_get_is_405(p1, user_in):
    wo = make_work_order(p1, status="released")
    client = client_logged_in(user_in("supervisor", p1))

    assert client.post(reverse("work-order-action", args=[wo.pk, "explode"])).status_code == 404
    assert client.get(reverse("work-order-action", args=[wo.pk, "hold"])).status_code == 405


def test_auditor_reads_every_site_but_cannot_act(p1, p2, user_in):
    wo1 = make_work_order(p1, status="released")
    wo2 = make_work_order(p2, status="released")
    client = client_logged_in(user_in("auditor"))

    home = client.get(reverse("home"))
    assert [s.site.code for s in home.context["summaries"]] == ["P1", "P2"]
    assert client.get(reverse("floor", args=["P2"])).status_code == 200
    page = client.get(reverse("work-order", args=[wo2.pk]))
    assert page.status_code == 200
    assert page.context["actions"] == []

    for wo, verb, data in [(wo1, "hold", {"reason": "audit"}), (wo2, "start", {})]:
        response = client.post(reverse("work-order-action", args=[wo.pk, verb]), data)
        assert response.status_code == 403
        wo.refresh_from_db()
        assert wo.status == "released"
