"""Issue 12: the authorization matrix of the routes that take no argument. Every API route,
page and admin page (changelists, add pages, the index...), found from the URL configuration,
is asked by every role (their own site's account), anonymously, with an expired account and
with a revoked token; the answers must be the table below. A new route without an entry
fails: say who may open it. Routes with arguments (own site / other site), admin actions and
websockets: test_authz_objects.py, test_authz_actions.py, test_authz_sockets.py."""

import pytest
from django.core.cache import cache
from django.test import override_settings

from tests.authz_matrix import plain_routes
from tests.authz_world import COLUMNS, make_callers, mismatches, status_letter
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

# One letter per column (tests.authz_world.status_letter): S = answers (2xx), A = the admin's
# sign-in (302), P = the sign-in page (302), F = forbidden (403), U = 401, N = 404 (nothing to
# show), M = 405 (GET not offered). Read a row against COLUMNS: operator, supervisor,
# planner, procurement, quality, maintenance, customer_service, manager, auditor,
# erp_integration, anonymous, expired, revoked.
EXPECTED = {
    "access-review": "FFFFFFFSFPPPP",
    "admin:auth_group_add": "AAAAAAAFFAAAA",
    "admin:auth_group_changelist": "AAAAAAASFAAAA",
    "admin:auth_user_add": "AAAAAAASFAAAA",
    "admin:auth_user_changelist": "AAAAAAASFAAAA",
    "admin:autocomplete": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_clockedschedule_add": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_clockedschedule_changelist": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_crontabschedule_add": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_crontabschedule_changelist": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_intervalschedule_add": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_intervalschedule_changelist": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_periodictask_add": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_periodictask_changelist": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_solarschedule_add": "AAAAAAAFFAAAA",
    "admin:django_celery_beat_solarschedule_changelist": "AAAAAAAFFAAAA",
    "admin:erp_erpdelivery_add": "AAAAAAAFFAAAA",
    "admin:erp_erpdelivery_changelist": "AAAAAAASFAAAA",
    "admin:erp_erpendpoint_add": "AAAAAAASFAAAA",
    "admin:erp_erpendpoint_changelist": "AAAAAAASFAAAA",
    "admin:exceptions_escalationpolicy_add": "AAAAAAAFFAAAA",
    "admin:exceptions_escalationpolicy_changelist": "AAAAAAASSAAAA",
    "admin:exceptions_exceptionticket_add": "AAAAAAAFFAAAA",
    "admin:exceptions_exceptionticket_changelist": "AAAAAAASSAAAA",
    "admin:exceptions_exceptiontype_add": "AAAAAAAFFAAAA",
    "admin:exceptions_exceptiontype_changelist": "AAAAAAASSAAAA",
    "admin:exceptions_exceptiontype_preview": "MMMMMMMMMMMMM",
    "admin:exceptions_exceptiontype_wizard": "AAAAAAAFFAAAA",
    "admin:exceptions_routingrule_add": "AAAAAAASFAAAA",
    "admin:exceptions_routingrule_changelist": "AAAAAAASSAAAA",
    "admin:exceptions_routingrule_dry_run": "AAAAAAASSAAAA",
    "admin:exceptions_routingrule_try": "MMMMMMMMMMMMM",
    "admin:exceptions_slapolicy_add": "AAAAAAAFFAAAA",
    "admin:exceptions_slapolicy_changelist": "AAAAAAASSAAAA",
    "admin:exceptions_workflow_add": "AAAAAAAFFAAAA",
    "admin:exceptions_workflow_changelist": "AAAAAAASSAAAA",
    "admin:exceptions_workflow_diagram": "MMMMMMMMMMMMM",
    "admin:index": "AAAAAAASSAAAA",
    "admin:jsi18n": "AAAAAAASSAAAA",
    "admin:mes_apitoken_add": "AAAAAAASFAAAA",
    "admin:mes_apitoken_changelist": "AAAAAAASFAAAA",
    "admin:mes_confirmation_add": "AAAAAAAFFAAAA",
    "admin:mes_confirmation_changelist": "AAAAAAASSAAAA",
    "admin:opcua_machinelink_add": "AAAAAAASFAAAA",
    "admin:opcua_machinelink_changelist": "AAAAAAASFAAAA",
    "admin:opcua_opcserver_add": "AAAAAAASFAAAA",
    "admin:opcua_opcserver_changelist": "AAAAAAASFAAAA",
    "admin:mes_downtime_add": "AAAAAAAFFAAAA",
    "admin:mes_downtime_changelist": "AAAAAAASSAAAA",
    "admin:mes_downtimereason_add": "AAAAAAAFFAAAA",
    "admin:mes_downtimereason_changelist": "AAAAAAASSAAAA",
    "admin:mes_item_add": "AAAAAAAFFAAAA",
    "admin:mes_item_changelist": "AAAAAAASSAAAA",
    "admin:quality_dispositionreason_add": "AAAAAAAFFAAAA",
    "admin:quality_dispositionreason_changelist": "AAAAAAASSAAAA",
    "admin:quality_nonconformance_add": "AAAAAAAFFAAAA",
    "admin:quality_nonconformance_changelist": "AAAAAAASSAAAA",
    "admin:quality_qualityhold_add": "AAAAAAAFFAAAA",
    "admin:quality_qualityhold_changelist": "AAAAAAASSAAAA",
    "admin:quality_sitequalitypolicy_add": "AAAAAAASFAAAA",
    "admin:quality_sitequalitypolicy_changelist": "AAAAAAASSAAAA",
    "admin:quality_defectcode_add": "AAAAAAAFFAAAA",
    "admin:quality_defectcode_changelist": "AAAAAAASSAAAA",
    "admin:quality_inspectionplan_add": "AAAAAAAFFAAAA",
    "admin:quality_inspectionplan_changelist": "AAAAAAASSAAAA",
    "admin:quality_inspectionresult_add": "AAAAAAAFFAAAA",
    "admin:quality_inspectionresult_changelist": "AAAAAAASSAAAA",
    "inspectionresult-list": "SSSSSSSSSFUUU",
    "nonconformance-list": "SSSSSSSSSFUUU",
    "qualityhold-list": "SSSSSSSSSFUUU",
    "admin:mes_lot_add": "AAAAAAAFFAAAA",
    "admin:mes_shipment_add": "AAAAAAAFFAAAA",
    "admin:mes_shipment_changelist": "AAAAAAASSAAAA",
    "admin:mes_lot_changelist": "AAAAAAASSAAAA",
    "admin:mes_lotconsumption_add": "AAAAAAAFFAAAA",
    "admin:mes_lotconsumption_changelist": "AAAAAAASSAAAA",
    "admin:mes_machine_add": "AAAAAAASFAAAA",
    "admin:mes_machine_changelist": "AAAAAAASSAAAA",
    "admin:mes_notification_add": "AAAAAAAFFAAAA",
    "admin:mes_notification_changelist": "AAAAAAASSAAAA",
    "admin:mes_notificationpreference_add": "AAAAAAAFFAAAA",
    "admin:mes_notificationpreference_changelist": "AAAAAAAFFAAAA",
    "admin:mes_operation_add": "AAAAAAAFFAAAA",
    "admin:mes_operation_changelist": "AAAAAAASSAAAA",
    "admin:mes_outboxevent_add": "AAAAAAAFFAAAA",
    "admin:mes_outboxevent_changelist": "AAAAAAASSAAAA",
    "admin:mes_site_add": "AAAAAAAFFAAAA",
    "admin:mes_site_changelist": "AAAAAAASSAAAA",
    "admin:mes_workcenter_add": "AAAAAAASFAAAA",
    "admin:mes_workcenter_changelist": "AAAAAAASSAAAA",
    "admin:mes_workingcalendar_add": "AAAAAAASFAAAA",
    "admin:mes_workingcalendar_changelist": "AAAAAAASSAAAA",
    "admin:mes_workorder_add": "AAAAAAAFFAAAA",
    "admin:mes_workorder_changelist": "AAAAAAASSAAAA",
    "admin:password_change": "AAAAAAASSAAAA",
    "admin:password_change_done": "AAAAAAASSAAAA",
    "admin:legacy_importjob_add": "AAAAAAAFFAAAA",
    "admin:legacy_importjob_changelist": "AAAAAAASSAAAA",
    "admin:legacy_legacydowntime_add": "AAAAAAAFFAAAA",
    "admin:legacy_legacydowntime_changelist": "AAAAAAASSAAAA",
    "admin:legacy_legacyexception_add": "AAAAAAAFFAAAA",
    "admin:legacy_legacyexception_changelist": "AAAAAAASSAAAA",
    "admin:legacy_machinealias_add": "AAAAAAAFFAAAA",
    "admin:legacy_machinealias_changelist": "AAAAAAASSAAAA",
    "api-docs": "SSSSSSSSSFSUU",
    "audit": "FFFFFFFSSPPPP",  # managers (their sites' records) and auditors
    "audit-runs": "FFFFFFFSSFUUU",
    "audit-verify": "MMMMMMMMMMMMM",  # POST only
    "history": "FFFFFFFSSFUUU",
    "history-export": "FFFFFFFSSFUUU",
    "api-root": "SSSSSSSSSFUUU",
    "apitoken-list": "SSSSSSSSSSUUU",
    "confirmation-list": "SSSSSSSSSFUUU",
    "erp-reconciliation": "FFFFFFFSFPPPP",
    "erp:events": "FFFFFFFFFNUUU",
    "erp:events-ack": "FFFFFFFFFMUUU",
    "erp:item-batch": "FFFFFFFFFMUUU",
    "erp:lot-batch": "FFFFFFFFFMUUU",
    "erp:reconciliation": "FFFFFFFNFFUUU",
    "erp:time-to-erp": "FFFFFFFSFFUUU",
    "erp:work-center-batch": "FFFFFFFFFMUUU",
    "erp:work-order-batch": "FFFFFFFFFMUUU",
    "exception-list": "SSSSSSSSSFUUU",
    "execution-audit": "FFFFFFFBBFUUU",  # names no site: 400 site_required
    "exceptions:mine": "SSSSSSSSSPPPP",
    "exceptiontype-list": "SSSSSSSSSFUUU",
    "home": "SSSSSSSSSPPPP",
    "importjob-list": "FFFFFFFSSFUUU",
    "item-list": "SSSSSSSSSFUUU",
    "lot-list": "SSSSSSSSSFUUU",
    "shipment-list": "SSSSSSSSSSUUU",
    "machine-list": "SSSSSSSSSFUUU",
    "notification-list": "SSSSSSSSSFUUU",
    "downtime-list": "SSSSSSSSSFUUU",
    "oee": "BBBBBBBBBFUUU",  # names no site: 400 site_required
    "opcua-health": "FFFFFSFSFFUUU",
    "notification-preferences": "SSSSSSSSSFUUU",
    "notification-preferences-page": "MMMMMMMMMMMMM",
    "notification-read": "MMMMMMMMMFUUU",
    "notifications": "SSSSSSSSSPPPP",
    "notifications-read": "MMMMMMMMMMMMM",
    "operation-list": "SSSSSSSSSFUUU",
    "schema": "SSSSSSSSSFSUU",
    "site-list": "SSSSSSSSSFUUU",
    "workcenter-list": "SSSSSSSSSFUUU",
    "workorder-list": "SSSSSSSSSSUUU",
    "ws-ticket": "MMMMMMMMMFUUU",
}


def observe(p1) -> dict[str, str]:
    """What each column gets from each route: {route name: letters in COLUMNS order}. (Another
    site exists: the configuration every site shares is read-only to a manager of P1.)"""
    SiteFactory(code="P2")
    callers = make_callers(p1)
    found = {}
    cache.clear()  # the wrong-token counter: this many refused tokens are the point here
    for name, path in sorted(plain_routes().items()):
        found[name] = "".join(
            status_letter(path, callers.client(column, path).get(path)) for column in COLUMNS
        )
    return found


@override_settings(ANDON_TOKEN_FAILURE_LIMIT=10**6)
def test_every_route_answers_every_role_as_the_table_says(p1):
    found = observe(p1)
    # A new route, or an answer that changed: the lines to put in EXPECTED (once right).
    columns = " ".join(COLUMNS)
    assert found == EXPECTED, f"columns: {columns}\n{mismatches(found, EXPECTED)}"
