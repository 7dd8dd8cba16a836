"""Hostile review of issue 12: a token made with a token holds no more than that token. A
P1-only token of a user holding P1 and P2 made itself a token with no site limit, which then
read P2's work orders."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from mes.models import ApiToken
from mes.models.tokens import digest_of
from tests.factories import make_token, make_user, make_work_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/tokens/"


def api(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def planner(p1, p2):
    return make_user("planner_both", "planner", [p1, p2])


def test_a_site_limited_token_makes_only_tokens_of_its_sites(planner, p1, p2):
    make_work_order(p2, erp_number="WO-P2")
    narrow = make_token(planner, sites=[p1])
    made = api(narrow).post(URL, {"name": "wider"}, format="json")
    assert made.status_code == 201, made.content
    assert made.json()["sites"] == ["P1"]
    listed = api(made.json()["key"]).get("/api/v1/work-orders/").json()["results"]
    assert [wo["erp_number"] for wo in listed] == []
    refused = api(narrow).post(URL, {"name": "p2", "sites": ["P2"]}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "unknown_site")
    assert ApiToken.objects.count() == 2
    wide = make_token(planner)
    both = api(wide).post(URL, {"name": "both"}, format="json").json()
    assert both["sites"] == []  # an unlimited token makes unlimited ones


def test_a_token_made_with_a_token_expires_no_later(planner):
    soon = timezone.now() + dt.timedelta(days=2)
    key = make_token(planner, expires_at=soon)
    made = api(key).post(URL, {"name": "default"}, format="json")
    assert made.status_code == 201
    assert ApiToken.objects.get(digest=digest_of(made.json()["key"])).expires_at <= soon
    later = (timezone.now() + dt.timedelta(days=20)).isoformat()
    refused = api(key).post(URL, {"name": "later", "expires_at": later}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (400, "not_delegable")
