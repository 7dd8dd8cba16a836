"""Floor pages of exception tickets: raise in three taps, my queue, site list, detail and its
actions. The test client runs inside a transaction, so rule effects need the ``relay`` fixture."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from exceptions import services
from exceptions.models import Decision, ExceptionTicket, ExceptionType
from mes.models import WorkOrder
from tests.factories import make_work_order

pytestmark = pytest.mark.django_db


def client_logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def raise_url(site, type_code: str | None = None, **context) -> str:
    if type_code:
        url = reverse("exceptions:raise-form", args=[site.code, type_code])
    else:
        url = reverse("exceptions:raise", args=[site.code])
    query = "&".join(f"{k}={v}" for k, v in context.items())
    return f"{url}?{query}" if query else url


def raised_shortage(site, actor, wo=None) -> ExceptionTicket:
    return services.raise_exception(
        actor=actor,
        exception_type=ExceptionType.objects.get(code="material_shortage"),
        site=site,
        work_order=wo,
        data={"material": "RM-7", "qty_missing": 40},
        description="Bin empty",
    )


def buttons(response) -> list[str]:
    """The labels of the submit buttons on the page (the top bar's aside)."""
    html = response.content.decode()
    main = html[html.index("<main") :]
    return [
        re.sub(r"\s+", " ", label).strip()
        for label in re.findall(r'<button type="submit"[^>]*>(.*?)</button>', main, re.DOTALL)
    ]


# --- raise ------------------------------------------------------------------------------


def test_floor_rows_carry_raise_buttons_with_their_context(p1, user_in):
    wo = make_work_order(p1, status="in_progress")
    op = wo.operations.order_by("sequence").first()
    client = client_logged_in(user_in("supervisor", p1))

    html = client.get(reverse("floor", args=["P1"])).content.decode()

    assert (
        f"{reverse('exceptions:raise', args=['P1'])}?work_order={wo.pk}&amp;operation={op.pk}"
        in (html)
    )
    assert reverse("exceptions:site", args=["P1"]) in html


def test_type_tiles_are_the_active_types_in_floor_order_with_the_context(p1, user_in):
    wo = make_work_order(p1, status="in_progress")
    ExceptionType.objects.filter(code="order_change").update(is_active=False)
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(raise_url(p1, work_order=wo.pk))

    assert response.status_code == 200
    codes = [t.code for t, _url, _query in response.context["tiles"]]
    assert codes[0] == "safety" and codes[1] == "material_shortage"  # sort_order 5, 10
    assert "order_change" not in codes
    html = response.content.decode()
    assert f"{raise_url(p1, 'material_shortage')}?work_order={wo.pk}" in html
    assert wo.erp_number in html  # the context, read-only


def test_raise_form_renders_the_schema_with_default_severity(p1, user_in):
    wo = make_work_order(p1, status="in_progress")
    client = client_logged_in(user_in("supervisor", p1))

    response = client.get(raise_url(p1, "material_shortage", work_order=wo.pk))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Material (item code)" in html and "Missing quantity" in html
    assert 'type="date" name="data-needed_by"' in html
    assert 'type="checkbox" name="data-line_stopped"' in html
    assert re.search(r'name="severity" value="high"[^>]*checked', html)  # the type's default


def test_raise_posts_through_the_service_with_typed_data(p1, user_in, relay):
    wo = make_work_order(p1, status="in_progress")
    op = wo.operations.order_by("sequence").first()
    sup = user_in("supervisor", p1)
    client = client_logged_in(sup)

    response = client.post(
        raise_url(p1, "material_shortage", work_order=wo.pk, operation=op.pk),
        {
            "data-material": "RM-100",
            "data-qty_missing": "12.5",
            "data-needed_by": "2030-02-03",
            "data-line_stopped": "on",
            "severity": "critical",
            "description": "Bin empty at line 3",
        },
    )

    ticket = ExceptionTicket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exceptions:detail", args=[ticket.pk])
    assert ticket.data == {
        "material": "RM-100",
        "qty_missing": 12.5,
        "needed_by": "2030-02-03",
        "line_stopped": True,
    }
    assert (ticket.site, ticket.work_order, ticket.operation) == (p1, wo, op)
    assert ticket.work_center == op.work_center
    assert (ticket.severity, ticket.raised_by, ticket.raised_via) == ("critical", sup, "floor")
    assert ticket.events.get(kind="raised").actor == sup
    relay()
    wo.refresh_from_db()
    assert wo.status == "on_hold"  # the seeded rule, after commit
    detail = client.get(response["Location"]).content.decode()
    assert ticket.number in detail and "RM-100" in detail and "Missing quantity" in detail


def test_raise_with_bad_data_shows_the_field_error_and_creates_nothing(p1, user_in):
    client = client_logged_in(user_in("supervisor", p1))

    response = client.post(
        raise_url(p1, "material_shortage"),
        {"data-material": "", "data-qty_missing": "-3", "severity": "high"},
    )

    assert response.status_code == 400
    assert not ExceptionTicket.objects.exists()
    data_form = response.context["data_form"]
    assert set(data_form.errors) == {"material", "qty_missing"}
    html = response.content.decode()
    assert 'id="id_data-material_errors"' in html
    assert 'id="id_data-qty_missing_errors"' in html
    assert 'value="-3"' in html  # what was typed stays


def test_schema_errors_from_the_service_land_on_their_field(p1, user_in, monkeypatch):
    """The service is the authority: a limit the Django form does not know still shows."""
    client = client_logged_in(user_in("supervisor", p1))
    shortage = ExceptionType.objects.get(code="material_shortage")
    real_validate = services.tickets.validate_data

    def stricter(schema, data):
        errors = real_validate(schema, data)
        if data.get("material") == "FORBIDDEN":
            errors["material"] = ["Not orderable."]
        return errors

    monkeypatch.setattr(services.tickets, "validate_data", stricter)

    response = client.post(
        raise_url(p1, shortage.code), {"data-material": "FORBIDDEN", "severity": "high"}
    )

    assert response.status_code == 400
    assert response.context["data_form"].errors["material"] == ["Not orderable."]
    assert not ExceptionTicket.objects.exists()


def test_raise_pages_of_another_site_are_404(p1, p2, user_in):
    wo_p2 = make_work_order(p2, status="in_progress")
    wo_p1 = make_work_order(p1, status="in_progress")
    client = client_logged_in(user_in("supervisor", p1))

    assert client.get(raise_url(p2)).status_code == 404
    assert client.get(raise_url(p2, "material_shortage")).status_code == 404
    assert client.post(raise_url(p2, "material_shortage"), {"data-material": "X"}).status_code == (
        404
    )
    # P2's order smuggled into P1's page
    assert client.get(raise_url(p1, work_order=wo_p2.pk)).status_code == 404
    response = client.post(
        raise_url(p1, "material_shortage", work_order=wo_p2.pk),
        {"data-material": "X", "severity": "high"},
    )
    assert response.status_code == 404
    assert client.get(raise_url(p1, "no_such_type", work_order=wo_p1.pk)).status_code == 404
    assert not ExceptionTicket.objects.exists()


def test_users_who_may_not_raise_see_no_button_and_get_403(p1, user_in):
    wo = make_work_order(p1, status="in_progress")
    client = client_logged_in(user_in("auditor"))

    floor = client.get(reverse("floor", args=["P1"])).content.decode()
    order = client.get(reverse("work-order", args=[wo.pk])).content.decode()

    assert reverse("exceptions:raise", args=["P1"]) not in floor
    assert reverse("exceptions:raise", args=["P1"]) not in order
    assert client.get(raise_url(p1, work_order=wo.pk)).status_code == 403
    response = client.post(raise_url(p1, "material_shortage"), {"data-material": "X"})
    assert response.status_code == 403
    assert not ExceptionTicket.objects.exists()


# --- lists ------------------------------------------------------------------------------


def test_my_queue_lists_tickets_of_my_role_at_my_sites(p1, p2, user_in, relay):
    wo = make_work_order(p1, status="in_progress")
    ticket = raised_shortage(p1, user_in("supervisor", p1), wo)
    relay()  # routing puts it in the procurement queue
    buyer = user_in("procurement", p1)
    ticket.refresh_from_db()
    assert ticket.queue.name == "procurement"

    mine = client_logged_in(buyer).get(reverse("exceptions:mine"))
    quality = client_logged_in(user_in("quality", p1)).get(reverse("exceptions:mine"))
    buyer_p2 = client_logged_in(user_in("procurement", p2)).get(reverse("exceptions:mine"))

    assert [t.pk for t in mine.context["tickets"]] == [ticket.pk]
    assert ticket.number in mine.content.decode()
    assert reverse("exceptions:detail", args=[ticket.pk]) in mine.content.decode()
    assert quality.context["tickets"] == []
    assert buyer_p2.context["tickets"] == []
    assert ticket.number not in buyer_p2.content.decode()


def test_my_queue_includes_tickets_assigned_to_me_and_drops_closed_ones(p1, user_in, relay):
    lead = user_in("supervisor", p1)
    maint = user_in("maintenance", p1)
    ticket = raised_shortage(p1, lead)
    services.update_exception(ticket, actor=lead, assignee=maint)
    client = client_logged_in(maint)

    assert [t.pk for t in client.get(reverse("exceptions:mine")).context["tickets"]] == [ticket.pk]
    services.transition_exception(ticket, actor=lead, to="cancelled", reason="duplicate")
    assert client.get(reverse("exceptions:mine")).context["tickets"] == []


def test_top_bar_shows_my_queue_count(p1, user_in, relay):
    raised_shortage(p1, user_in("supervisor", p1))
    relay()
    client = client_logged_in(user_in("procurement", p1))

    html = client.get(reverse("home")).content.decode()

    assert reverse("exceptions:mine") in html
    assert re.search(r'class="count-badge is-hot">1<', html)


def test_site_list_shows_open_tickets_of_that_site_only(p1, p2, user_in):
    lead_p1 = user_in("supervisor", p1)
    open_p1 = raised_shortage(p1, lead_p1)
    cancelled = raised_shortage(p1, lead_p1)
    services.transition_exception(cancelled, actor=lead_p1, to="cancelled", reason="dup")
    p2_ticket = raised_shortage(p2, user_in("supervisor", p2))
    client = client_logged_in(lead_p1)

    response = client.get(reverse("exceptions:site", args=["P1"]))

    assert [t.pk for t in response.context["tickets"]] == [open_p1.pk]
    assert p2_ticket.number not in response.content.decode()
    assert client.get(reverse("exceptions:site", args=["P2"])).status_code == 404


def test_work_order_page_links_to_its_exceptions(p1, user_in):
    wo = make_work_order(p1, status="in_progress")
    lead = user_in("supervisor", p1)
    ticket = raised_shortage(p1, lead, wo)
    raised_shortage(p1, lead)  # another order's
    client = client_logged_in(lead)

    page = client.get(reverse("work-order", args=[wo.pk])).content.decode()
    url = f"{reverse('exceptions:site', args=['P1'])}?work_order={wo.pk}"
    listing = client.get(url)

    assert url in page
    assert [t.pk for t in listing.context["tickets"]] == [ticket.pk]


# --- detail -----------------------------------------------------------------------------


def test_detail_of_another_site_is_404(p1, p2, user_in):
    ticket = raised_shortage(p2, user_in("supervisor", p2))
    client = client_logged_in(user_in("supervisor", p1))

    assert client.get(reverse("exceptions:detail", args=[ticket.pk])).status_code == 404
    for name, data in [
        ("exceptions:transition", {"to": "acknowledged"}),
        ("exceptions:decision", {"decision": "x", "resolve_to": "resolved"}),
        ("exceptions:comment", {"text": "x"}),
    ]:
        assert client.post(reverse(name, args=[ticket.pk]), data).status_code == 404
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.events.count() == 1


def test_detail_shows_exactly_the_actions_the_workflow_allows(p1, user_in, relay):
    wo = make_work_order(p1, status="in_progress")
    ticket = raised_shortage(p1, user_in("supervisor", p1), wo)
    relay()
    url = reverse("exceptions:detail", args=[ticket.pk])

    operator = client_logged_in(user_in("operator", p1)).get(url)
    buyer = client_logged_in(user_in("procurement", p1)).get(url)

    assert operator.status_code == 200
    assert buyer.status_code == 200
    assert buttons(operator) == ["Comment"]
    assert buttons(buyer) == ["Resolve with decision", "Acknowledge", "Start work", "Comment"]
    html = buyer.content.decode()
    assert "Bin empty" in html and "RM-7" in html and "Material (item code)" in html
    assert "Shortages go to procurement" in html  # the rule that routed it, on the timeline
    assert wo.erp_number in html


def test_transition_decision_and_comment_posts_write_the_timeline(p1, user_in, relay):
    wo = make_work_order(p1, status="in_progress")
    ticket = raised_shortage(p1, user_in("supervisor", p1), wo)
    relay()
    buyer = user_in("procurement", p1)
    client = client_logged_in(buyer)
    detail = reverse("exceptions:detail", args=[ticket.pk])

    r1 = client.post(reverse("exceptions:transition", args=[ticket.pk]), {"to": "acknowledged"})
    r2 = client.post(reverse("exceptions:comment", args=[ticket.pk]), {"text": "Calling supplier"})
    r3 = client.post(
        reverse("exceptions:decision", args=[ticket.pk]),
        {"decision": "Air freight", "reasoning": "Line stop costs more", "resolve_to": "resolved"},
    )
    relay()

    assert [r.status_code for r in (r1, r2, r3)] == [302, 302, 302]
    assert r1["Location"] == detail and r3["Location"] == detail
    ticket.refresh_from_db()
    assert (ticket.status, ticket.acknowledged_at is not None) == ("resolved", True)
    decision = Decision.objects.get(exception=ticket)
    assert (decision.decision, decision.reasoning, decision.decided_by) == (
        "Air freight",
        "Line stop costs more",
        buyer,
    )
    kinds = [(e.kind, e.actor) for e in ticket.events.filter(actor=buyer)]
    assert kinds == [
        ("acknowledged", buyer),
        ("commented", buyer),
        ("decision", buyer),
        ("status_changed", buyer),
    ]
    wo.refresh_from_db()
    assert wo.status == "in_progress"  # resumed by the resolve rule
    page = client.get(detail)
    assert "Calling supplier" in page.content.decode()
    assert "Air freight" in page.content.decode()
    assert "Resolve with decision" not in buttons(page)


def test_refused_transition_is_shown_not_crashed(p1, user_in):
    ticket = raised_shortage(p1, user_in("supervisor", p1))
    lead = user_in("supervisor", p1)
    client = client_logged_in(lead)

    no_reason = client.post(
        reverse("exceptions:transition", args=[ticket.pk]), {"to": "cancelled"}, follow=True
    )
    not_in_table = client.post(
        reverse("exceptions:transition", args=[ticket.pk]), {"to": "closed"}, follow=True
    )
    empty_decision = client.post(
        reverse("exceptions:decision", args=[ticket.pk]),
        {"decision": " ", "resolve_to": "resolved"},
        follow=True,
    )
    operator = client_logged_in(user_in("operator", p1)).post(
        reverse("exceptions:transition", args=[ticket.pk]), {"to": "acknowledged"}
    )

    assert no_reason.status_code == 200 and "A reason is required." in no_reason.content.decode()
    assert not_in_table.status_code == 200 and "cannot go from" in not_in_table.content.decode()
    assert "Say what was decided." in empty_decision.content.decode()
    assert operator.status_code == 403  # the role may not, though the table has the move
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert not Decision.objects.exists()


def test_auditor_reads_everything_but_every_post_is_403(p1, user_in, relay):
    ticket = raised_shortage(p1, user_in("supervisor", p1))
    relay()
    client = client_logged_in(user_in("auditor"))
    events_before = ticket.events.count()

    page = client.get(reverse("exceptions:detail", args=[ticket.pk]))
    listing = client.get(reverse("exceptions:site", args=["P1"]))

    assert page.status_code == 200 and ticket.number in page.content.decode()
    assert buttons(page) == []
    assert [t.pk for t in listing.context["tickets"]] == [ticket.pk]
    for name, data in [
        ("exceptions:transition", {"to": "acknowledged"}),
        ("exceptions:decision", {"decision": "x", "resolve_to": "resolved"}),
        ("exceptions:comment", {"text": "x"}),
    ]:
        assert client.post(reverse(name, args=[ticket.pk]), data).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "open" and ticket.events.count() == events_before
    assert not Decision.objects.exists()


def test_pages_redirect_anonymous_to_login(p1):
    for url in (
        reverse("exceptions:mine"),
        reverse("exceptions:site", args=["P1"]),
        reverse("exceptions:raise", args=["P1"]),
        reverse("exceptions:detail", args=[1]),
    ):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_queue_and_detail_query_counts_are_flat(p1, user_in, relay, django_assert_max_num_queries):
    lead = user_in("supervisor", p1)
    tickets = [raised_shortage(p1, lead, make_work_order(p1, status="released")) for _ in range(8)]
    relay()
    client = client_logged_in(user_in("procurement", p1))

    with django_assert_max_num_queries(14):
        queue = client.get(reverse("exceptions:mine"))
    with django_assert_max_num_queries(25):
        detail = client.get(reverse("exceptions:detail", args=[tickets[0].pk]))

    assert len(queue.context["tickets"]) == 8
    assert detail.status_code == 200
    assert WorkOrder.objects.filter(status="on_hold").count() == 8
