"""Issue 12, hole 4: wrong passwords lock one user out from one address (django-axes), never
the whole shift behind the plant's NAT, nor the user from every other device."""

import pytest
from django.test import Client

from tests.factories import make_user

pytestmark = pytest.mark.django_db

NAT, OFFICE = "10.1.1.1", "10.9.9.9"


def sign_in(username, password, address, path="/login/"):
    return Client(REMOTE_ADDR=address).post(path, {"username": username, "password": password})


@pytest.fixture
def shift(p1):
    return make_user("operator_p1", "operator", [p1]), make_user("operator2_p1", "operator", [p1])


def test_five_wrong_passwords_lock_that_user_out_from_that_address_only(shift, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert sign_in("operator_p1", "guess", NAT).status_code == 200  # the form again
    assert sign_in("operator_p1", "guess", NAT).status_code == 429  # the fifth locks
    locked = sign_in("operator_p1", "pw", NAT)  # the right password, too late
    assert locked.status_code == 429
    assert "Too many attempts" in locked.content.decode()
    assert "_auth_user_id" not in locked.wsgi_request.session

    # The colleague at the next press, behind the same NAT, signs in.
    assert sign_in("operator2_p1", "pw", NAT).status_code == 302
    # The same user from the office signs in too.
    assert sign_in("operator_p1", "pw", OFFICE).status_code == 302


def test_the_admin_sign_in_is_guarded_the_same_way(shift, settings):
    settings.AXES_FAILURE_LIMIT = 3
    make_user("manager_p1", "manager", is_staff=True)
    for _ in range(3):
        sign_in("manager_p1", "guess", NAT, path="/admin/login/")
    assert sign_in("manager_p1", "pw", NAT, path="/admin/login/").status_code == 429
    assert sign_in("manager_p1", "pw", NAT).status_code == 429  # and on the floor's page


def test_a_successful_sign_in_forgets_earlier_failures(shift, settings):
    settings.AXES_FAILURE_LIMIT = 3
    sign_in("operator_p1", "guess", NAT)
    sign_in("operator_p1", "guess", NAT)
    assert sign_in("operator_p1", "pw", NAT).status_code == 302
    sign_in("operator_p1", "guess", NAT)
    sign_in("operator_p1", "guess", NAT)
    assert sign_in("operator_p1", "pw", NAT).status_code == 302


def test_a_client_chosen_forwarded_for_does_not_reset_the_count(shift, settings):
    """Without a trusted proxy, X-Forwarded-For is the client's word and ignored."""
    settings.AXES_FAILURE_LIMIT = 3
    for n in range(3):
        Client(REMOTE_ADDR=NAT, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").post(
            "/login/", {"username": "operator_p1", "password": "guess"}
        )
    assert sign_in("operator_p1", "pw", NAT).status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(shift, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.ANDON_TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.2"
    for _ in range(3):
        Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"6.6.6.6, {NAT}").post(
            "/login/", {"username": "operator_p1", "password": "guess"}
        )
    forwarded = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=NAT)
    assert (
        forwarded.post("/login/", {"username": "operator_p1", "password": "pw"}).status_code == 429
    )
    other = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=OFFICE)
    assert other.post("/login/", {"username": "operator_p1", "password": "pw"}).status_code == 302
