"""The project's URLs plus ``bench/ceiling/``: the cheapest Django view that stores a raise.

The ceiling goes through the same middleware as the API, looks the caller's API token up (one
indexed SELECT by digest, 401 without it), parses the same JSON body and inserts one row of
similar width with one raw SQL statement: no permission, no validation, no history, no outbox,
no rules. The API's figures are compared against it.
"""

import json

from django.db import connection
from django.http import JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from andon.urls import urlpatterns as project_urlpatterns
from mes.models.tokens import digest_of

CEILING_DDL = """
CREATE TABLE IF NOT EXISTS bench_ceiling (
    id bigserial PRIMARY KEY,
    number varchar(30) NOT NULL UNIQUE,
    site_id bigint NOT NULL,
    type_id bigint NOT NULL,
    work_order varchar(60) NOT NULL DEFAULT '',
    severity varchar(10) NOT NULL,
    status varchar(40) NOT NULL,
    data jsonb NOT NULL,
    raised_at timestamptz NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS bench_ceiling_number;
"""
_INSERT = """
INSERT INTO bench_ceiling (number, site_id, type_id, work_order, severity, status, data,
                             raised_at)
VALUES ('C-' || lpad(nextval('bench_ceiling_number')::text, 6, '0'), 1, 1, %s, 'high', 'open',
        %s::jsonb, %s)
RETURNING id, number
"""


@csrf_exempt
@require_POST
def ceiling(request):
    key = request.headers.get("Authorization", "").removeprefix("Token ").strip()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT user_id FROM mes_apitoken WHERE digest = %s AND revoked_at IS NULL",
            [digest_of(key)],
        )
        if cursor.fetchone() is None:
            return JsonResponse({"code": "not_authenticated"}, status=401)
    body = json.loads(request.body)
    with connection.cursor() as cursor:
        cursor.execute(
            _INSERT,
            [str(body.get("work_order", "")), json.dumps(body.get("data", {})), timezone.now()],
        )
        pk, number = cursor.fetchone()
    return JsonResponse({"id": pk, "number": number, "status": "open"}, status=201)


urlpatterns = [path("bench/ceiling/", ceiling, name="bench-ceiling"), *project_urlpatterns]
