"""Accounts: nobody grants what they do not hold. A manager of one site manages the accounts of
that site only, gives only the roles they may delegate and only their own sites; superuser,
staff and raw permissions are for superusers (issue 12, hole 1)."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from mes.access import grant_site_access
from mes.errors import NotPermitted
from mes.models import OutboxEvent
from mes.services.accounts import accounts_manageable_by, save_account, site_codes_of
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager_p1(p1):
    return make_user("manager_p1", "manager", [p1], is_staff=True)


@pytest.fixture
def browser(manager_p1):
    client = Client()
    client.force_login(manager_p1)
    return client


def _change(browser, user, **data):
    fields = {
        "username": user.username,
        "first_name": "",
        "last_name": "",
        "email": "",
        "is_active": "on",
        "roles": [str(g.pk) for g in user.groups.all()],
        "sites": [],
        **data,
    }
    return browser.post(f"/admin/auth/user/{user.pk}/change/", fields)


def test_a_site_manager_cannot_make_itself_superuser(browser, manager_p1, p1, p2):
    response = _change(
        browser, manager_p1, is_superuser="on", is_staff="on", sites=[str(p1.pk), str(p2.pk)]
    )
    assert response.status_code == 302  # its own account is not its to manage: "not found"
    manager_p1.refresh_from_db()
    assert not manager_p1.is_superuser
    assert site_codes_of(manager_p1) == ["P1"]


def test_raw_flags_and_undelegable_roles_are_not_granted(browser, p1):
    operator = make_user("operator_p1", "operator", [p1])
    manager_role = Group.objects.get(name="manager")
    response = _change(
        browser,
        operator,
        is_superuser="on",
        is_staff="on",
        roles=[str(manager_role.pk)],
        sites=[str(p1.pk)],
    )
    assert response.status_code == 200  # the form again: "manager" is not a choice
    operator.refresh_from_db()
    assert (operator.is_superuser, operator.is_staff) == (False, False)
    assert list(operator.groups.values_list("name", flat=True)) == ["operator"]
    # what a manager may give, it gives: another role and its own site, with history
    planner = Group.objects.get(name="planner")
    done = _change(
        browser, operator, roles=[str(planner.pk)], sites=[str(p1.pk)], is_superuser="on"
    )
    assert done.status_code == 302
    operator.refresh_from_db()
    assert list(operator.groups.values_list("name", flat=True)) == ["planner"]
    assert not operator.is_superuser
    assert operator.history.first().history_user.username == "manager_p1"
    event = OutboxEvent.objects.get(type="account.changed")
    assert event.payload["roles"] == ["planner"] and event.payload["sites"] == ["P1"]


def test_another_sites_accounts_are_invisible(browser, p1, p2):
    p2_user = make_user("planner_p2", "planner", [p2])
    both = make_user("planner_both", "planner", [p1, p2])
    listing = browser.get("/admin/auth/user/").content.decode()
    assert "planner_p2" not in listing and "planner_both" not in listing
    assert browser.get(f"/admin/auth/user/{p2_user.pk}/change/").status_code == 302
    assert browser.get(f"/admin/auth/user/{p2_user.pk}/password/").status_code == 404
    reset = browser.post(
        f"/admin/auth/user/{p2_user.pk}/password/",
        {"password1": "Hijacked-123456", "password2": "Hijacked-123456"},
    )
    assert reset.status_code == 404
    p2_user.refresh_from_db()
    assert not p2_user.check_password("Hijacked-123456")
    assert both not in accounts_manageable_by(User.objects.get(username="manager_p1"))


def test_a_manager_adds_an_account_at_its_own_site_only(browser, p1, p2):
    operator = Group.objects.get(name="operator")
    refused = browser.post(
        "/admin/auth/user/add/",
        {
            "username": "new_op",
            "password1": "Long-enough-pass-42",
            "password2": "Long-enough-pass-42",
            "roles": [str(operator.pk)],
            "sites": [str(p2.pk)],
        },
    )
    assert refused.status_code == 200 and not User.objects.filter(username="new_op").exists()
    added = browser.post(
        "/admin/auth/user/add/",
        {
            "username": "new_op",
            "password1": "Long-enough-pass-42",
            "password2": "Long-enough-pass-42",
            "roles": [str(operator.pk)],
            "sites": [str(p1.pk)],
            "change_reason": "New hire, line 2",
        },
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    account = User.objects.get(username="new_op")
    assert site_codes_of(account) == ["P1"]
    assert list(account.groups.values_list("name", flat=True)) == ["operator"]
    assert account.history.first().history_change_reason == "New hire, line 2"
    assert account.check_password("Long-enough-pass-42")


def test_the_service_refuses_what_the_actor_does_not_hold(manager_p1, p1, p2):
    target = make_user("operator_p1", "operator", [p1])
    with pytest.raises(NotPermitted) as refused:
        save_account(target, actor=manager_p1, roles=[Group.objects.get(name="auditor")])
    assert refused.value.code == "not_delegable"
    target.is_staff = True
    with pytest.raises(NotPermitted):
        save_account(target, actor=manager_p1)
    assert not User.objects.get(pk=target.pk).is_staff


def test_raw_site_permission_pages_are_for_superusers(browser, p1):
    assert browser.get(f"/admin/mes/site/{p1.pk}/permissions/").status_code == 403


def test_a_superuser_still_manages_everything(p1, p2):
    root = User.objects.create_superuser("root", password="x")
    target = make_user("someone", "operator", [p2])
    target.is_staff = True
    save_account(target, actor=root, roles=[Group.objects.get(name="manager")], sites=[p1])
    target.refresh_from_db()
    assert target.is_staff and list(target.groups.values_list("name", flat=True)) == ["manager"]
    assert site_codes_of(target) == ["P1"]
    grant_site_access(target, p2)
