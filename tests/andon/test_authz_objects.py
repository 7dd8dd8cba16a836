"""Issue 12: the authorization matrix of the routes that take arguments: every API route (and
each of its methods), page and admin page (change, delete, history, a past version, a site's
object permissions, a user's password...) found from the URL configuration, asked for a row
of the caller's own site and for one of another site, by every role, and at the own site
anonymously, by an expired account and with a revoked token. Writes are undone after each
request, so every column meets the same rows. A new route without an entry fails.

A POST route is asked with an empty body: B (400) means the caller got past the permission
checks to the input's; a row of another site must be N (404) or R (the admin's "does not
exist" redirect), never B, C or S."""

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from mes.roles import ROLES
from tests.authz_matrix import admin_model_of, arguments, fill, object_routes
from tests.authz_world import ask, make_callers, make_world, mismatches, status_letter

pytestmark = pytest.mark.django_db

# Whose code, pk or number a route takes (the first prefix of its name that matches).
TAKES = {
    "site-": "mes.site",
    "workcenter-": "mes.workcenter",
    "machine-": "mes.machine",
    "downtime-": "mes.downtime",
    "item-": "mes.item",
    "operation-": "mes.operation",
    "lot-": "mes.lot",
    "confirmation-": "mes.confirmation",
    "shipment-": "mes.shipment",
    "qualityhold-": "quality.qualityhold",
    "nonconformance-": "quality.nonconformance",
    "inspectionresult-": "quality.inspectionresult",
    "genealogy-": "mes.lot",
    "quality:inspect": "mes.operation",
    "quality:hold": "quality.qualityhold",
    "quality:item": "mes.item",
    "quality:nonconformance": "quality.nonconformance",
    "apitoken-": "mes.apitoken",
    "exceptiontype-": "exceptions.exceptiontype",
    "exception-": "exceptions.exceptionticket",
    "exceptions:": "exceptions.exceptionticket",
    "work-order": "mes.workorder",
    "notification-open": "mes.notification",
    "history-": "mes.workorder",
    "importjob-": "legacy.importjob",
    "legacy:job": "legacy.importjob",
    "audit-record": "mes.workorder",
}
# Arguments that say what they are, whatever the route.
BY_NAME = {
    "erp_number": ("mes.workorder", "erp_number"),
    "site_code": ("mes.site", "code"),
    "attachment_id": ("attachment", "pk"),
    "user_id": ("auth.user", "pk"),
    "group_id": ("auth.group", "pk"),
}
LITERAL = {"type_code": "material_shortage", "verb": "hold", "kind": "mes.workorder"}

# Pairs (own site, other site) per role in ROLES order, then the own site anonymously, by an
# expired account and with a revoked token. Letters: tests.authz_world.status_letter.
EXPECTED = {
    "admin:app_list:legacy": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:legacy_importjob_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:legacy_importjob_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:legacy_importjob_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_importjob_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_legacydowntime_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:legacy_legacydowntime_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:legacy_legacydowntime_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_legacydowntime_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_legacyexception_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:legacy_legacyexception_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:legacy_legacyexception_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_legacyexception_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_machinealias_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:legacy_machinealias_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:legacy_machinealias_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:legacy_machinealias_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "importjob-commit POST": "FF FF FF FF FF FF FF SN FF FF UUU",
    "importjob-detail": "FF FF FF FF FF FF FF SN SS FF UUU",
    "importjob-detail PATCH": "FF FF FF FF FF FF FF SN FF FF UUU",
    "importjob-preview POST": "FF FF FF FF FF FF FF SN FF FF UUU",
    "legacy:execution-audit": "FN FN FN FN FN FN FN SN SS PP PPP",
    "legacy:imports": "FN FN FN FN FN FN FN SN FF PP PPP",  # the site first: another's is 404
    "legacy:job": "FF FF FF FF FF FF FF SN FF PP PPP",
    "legacy:job-commit": "FF FF FF FF FF FF FF RN FF PP PPP",
    "legacy:job-mapping": "FF FF FF FF FF FF FF RN FF PP PPP",
    "downtime-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "audit-record": "FF FF FF FF FF FF FF SN SS PP PPP",
    "history-as-of": "FF FF FF FF FF FF FF BN BB FF UUU",  # no "at": 400 at_required, after 404
    "history-record": "FF FF FF FF FF FF FF SN SS FF UUU",
    "downtime-reason": "RN RN FN FN FN FN FN RN FF PP PPP",  # who may confirm at the site
    "downtimes": "SN SN SN SN SN SN SN SN SS PP PPP",
    "oee": "SN SN SN SN SN SN SN SN SS PP PPP",
    "operation-machine-counts": "SN SN SN SN SN SN SN SN SS FF UUU",
    "admin:app_list:auth": "AA AA AA AA AA AA AA SS NN AA AAA",
    "admin:app_list:django_celery_beat": "AA AA AA AA AA AA AA NN NN AA AAA",
    "admin:app_list:erp": "AA AA AA AA AA AA AA SS NN AA AAA",
    "admin:app_list:exceptions": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:app_list:mes": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:auth_group_change": "AA AA AA AA AA AA AA SS FF AA AAA",
    "admin:auth_group_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:auth_group_history": "AA AA AA AA AA AA AA SS FF AA AAA",
    "admin:auth_user_change": "AA AA AA AA AA AA AA SR FF AA AAA",
    "admin:auth_user_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:auth_user_history": "AA AA AA AA AA AA AA SR RR AA AAA",
    "admin:auth_user_password_change": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:django_celery_beat_clockedschedule_change": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_clockedschedule_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_clockedschedule_history": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_crontabschedule_change": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_crontabschedule_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_crontabschedule_history": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_intervalschedule_change": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_intervalschedule_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_intervalschedule_history": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_periodictask_change": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_periodictask_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_periodictask_history": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_solarschedule_change": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_solarschedule_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:django_celery_beat_solarschedule_history": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:erp_erpdelivery_change": "AA AA AA AA AA AA AA SR FF AA AAA",
    "admin:erp_erpdelivery_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:erp_erpdelivery_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:erp_erpdelivery_simple_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:erp_erpendpoint_change": "AA AA AA AA AA AA AA SR FF AA AAA",
    "admin:erp_erpendpoint_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:erp_erpendpoint_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:erp_erpendpoint_simple_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:erp_erpendpoint_sync": "AA AA AA AA AA AA AA RN FF AA AAA",
    "admin:exceptions_escalationpolicy_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_escalationpolicy_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:exceptions_escalationpolicy_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_escalationpolicy_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_exceptionticket_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:exceptions_exceptionticket_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:exceptions_exceptionticket_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:exceptions_exceptionticket_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:exceptions_exceptiontype_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_exceptiontype_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:exceptions_exceptiontype_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_exceptiontype_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_routingrule_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:exceptions_routingrule_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:exceptions_routingrule_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:exceptions_routingrule_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:exceptions_slapolicy_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_slapolicy_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:exceptions_slapolicy_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_slapolicy_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_workflow_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_workflow_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:exceptions_workflow_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:exceptions_workflow_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:mes_apitoken_change": "AA AA AA AA AA AA AA SR FF AA AAA",
    "admin:mes_apitoken_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_apitoken_history": "AA AA AA AA AA AA AA SN NN AA AAA",
    "admin:mes_apitoken_simple_history": "AA AA AA AA AA AA AA SN NN AA AAA",
    "admin:mes_confirmation_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_confirmation_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_confirmation_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_confirmation_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:app_list:opcua": "AA AA AA AA AA AA AA SS NN AA AAA",
    "admin:opcua_machinelink_change": "AA AA AA AA AA AA AA SR FF AA AAA",
    "admin:opcua_machinelink_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:opcua_machinelink_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:opcua_machinelink_simple_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:opcua_opcserver_change": "AA AA AA AA AA AA AA SR FF AA AAA",
    "admin:opcua_opcserver_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:opcua_opcserver_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:opcua_opcserver_simple_history": "AA AA AA AA AA AA AA SN FF AA AAA",
    "admin:mes_downtime_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_downtime_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_downtime_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_downtime_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_downtimereason_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:mes_downtimereason_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_downtimereason_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:mes_downtimereason_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:mes_item_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:mes_item_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_item_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:mes_item_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:app_list:quality": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_dispositionreason_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_dispositionreason_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_dispositionreason_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_dispositionreason_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_nonconformance_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:quality_nonconformance_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_nonconformance_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_nonconformance_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_qualityhold_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:quality_qualityhold_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_qualityhold_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_qualityhold_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_sitequalitypolicy_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:quality_sitequalitypolicy_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_sitequalitypolicy_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_sitequalitypolicy_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_defectcode_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_defectcode_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_defectcode_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_defectcode_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_inspectionplan_change": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_inspectionplan_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_inspectionplan_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_inspectionplan_simple_history": "AA AA AA AA AA AA AA SS SS AA AAA",
    "admin:quality_inspectionresult_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:quality_inspectionresult_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:quality_inspectionresult_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:quality_inspectionresult_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "genealogy-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "genealogy-export": "SN SN SN SN SN SN SN SN SS FF UUU",
    "nonconformance-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "qualityhold-decide POST": "FF FF FF FF BN FF FF FF FF FF UUU",
    "qualityhold-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "qualityhold-review POST": "FF FF FF FF BN FF FF FF FF FF UUU",
    "quality:hold": "SN SN SN SN SN SN SN SN SS PP PPP",
    "quality:holds": "SN SN SN SN SN SN SN SN SS PP PPP",
    "quality:inspect": "SN SN SN SN SN SN SN SN SS PP PPP",
    "quality:item": "SS SS SS SS SS SS SS SS SS PP PPP",
    "quality:nonconformance": "SN SN SN SN SN SN SN SN SS PP PPP",
    "quality:nonconformances": "SN SN SN SN SN SN SN SN SS PP PPP",
    "quality:recall": "SN SN SN SN SN SN SN SN SS PP PPP",
    "admin:mes_lot_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_shipment_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_shipment_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_shipment_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_shipment_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_lot_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_lot_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_lot_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_lotconsumption_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_lotconsumption_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_lotconsumption_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_lotconsumption_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_machine_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_machine_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_machine_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_machine_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_notification_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_notification_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_notification_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_notificationpreference_change": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_notificationpreference_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_notificationpreference_history": "AA AA AA AA AA AA AA NN NN AA AAA",
    "admin:mes_operation_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_operation_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_operation_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_operation_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_outboxevent_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_outboxevent_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_outboxevent_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_site_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_site_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_site_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_site_permissions": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_site_permissions_manage_group": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_site_permissions_manage_user": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_site_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_workcenter_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_workcenter_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_workcenter_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_workcenter_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_workingcalendar_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_workingcalendar_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_workingcalendar_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_workingcalendar_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_workorder_change": "AA AA AA AA AA AA AA SR SS AA AAA",
    "admin:mes_workorder_delete": "AA AA AA AA AA AA AA FF FF AA AAA",
    "admin:mes_workorder_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "admin:mes_workorder_simple_history": "AA AA AA AA AA AA AA SN SS AA AAA",
    "apitoken-detail": "NN NN SN NN NN NN NN SN NN NN UUU",
    "apitoken-revoke POST": "NN NN SN NN NN NN NN SN NN NN UUU",
    "confirmation-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "exception-attachment": "SN SN SN SN SN SN SN SN SS FF UUU",
    "exception-attachments POST": "TN TN TN TN TN TN FF TN FF FF UUU",
    "exception-comments POST": "BN BN BN BN BN BN FF BN FF FF UUU",
    "exception-decision POST": "BN BN BN BN BN BN FF BN FF FF UUU",
    "exception-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "exception-detail PATCH": "SN SN SN SN SN SN FF SN FF FF UUU",
    "exception-transition POST": "BN BN BN BN BN BN FF BN FF FF UUU",
    "exceptions:board": "SN SN SN SN SN SN SN SN SS PP PPP",
    "exceptions:board-fragment": "SN SN SN SN SN SN SN SN SS PP PPP",
    "exceptions:comment": "RN RN RN RN RN RN FN RN FF PP PPP",
    "exceptions:decision": "FN RN RN RN RN RN FN RN FF PP PPP",
    "exceptions:detail": "SN SN SN SN SN SN SN SN SS PP PPP",
    "exceptions:raise": "SN SN SN SN SN SN FN SN FF PP PPP",
    "exceptions:raise-form": "SN SN SN SN SN SN FN SN FF PP PPP",
    "exceptions:site": "SN SN SN SN SN SN SN SN SS PP PPP",
    "exceptions:transition": "RN RN RN RN RN RN FN RN FF PP PPP",
    "exceptiontype-detail": "SS SS SS SS SS SS SS SS SS FF UUU",
    "floor": "SN SN SN SN SN SN SN SN SS PP PPP",
    "item-detail": "SS SS SS SS SS SS SS SS SS FF UUU",
    "lot-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "shipment-detail": "SN SN SN SN SN SN SN SN SS SN UUU",
    "machine-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "notification-open": "NN NN RN NN NN NN NN NN NN PP PPP",
    "operation-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "operation-start POST": "CN CN CN FF FF FF FF CN FF FF UUU",
    "site-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "work-order": "SN SN SN SN SN SN SN SN SS PP PPP",
    "work-order-action": "FN RN RN FN FN FN FN RN FF PP PPP",
    "workcenter-detail": "SN SN SN SN SN SN SN SN SS FF UUU",
    "workcenter-queue": "SN SN SN SN SN SN SN SN SS FF UUU",
    "workcenter-resequence POST": "FF BN BN FF FF FF FF BN FF FF UUU",
    "workorder-cancel POST": "FF BN BN FF FF FF FF BN FF FF UUU",
    "workorder-close POST": "FF CN CN FF FF FF FF CN FF FF UUU",
    "workorder-complete POST": "FF CN CN FF FF FF FF CN FF FF UUU",
    "workorder-detail": "SN SN SN SN SN SN SN SN SS SN UUU",
    "workorder-hold POST": "FF BN BN FF FF FF FF BN FF FF UUU",
    "workorder-release POST": "FF CN CN FF FF FF FF CN FF FF UUU",
    "workorder-resume POST": "FF CN CN FF FF FF FF CN FF FF UUU",
    "workorder-start POST": "FF CN CN FF FF FF FF CN FF FF UUU",
}


def _label(name: str, pattern: str) -> str:
    model = admin_model_of(pattern)
    if model:
        return model
    for prefix, label in TAKES.items():
        if name.startswith(prefix):
            return label
    raise AssertionError(f"{name}: say in TAKES whose code, pk or number it takes")


def _scoped(world, name: str, pattern: str) -> bool:
    """Does the route take a row of one site (not one of the group's shared rows)?"""
    labels = {
        BY_NAME[a][0] if a in BY_NAME else _label(name, pattern)
        for a in arguments(pattern)
        if a not in LITERAL and a != "app_label"
    }
    return any(not world.shared_label(label) for label in labels)


def _values(world, name: str, pattern: str, side: str) -> dict:
    values = {}
    for argument in arguments(pattern):
        if argument in LITERAL:
            values[argument] = LITERAL[argument]
        elif argument == "app_label":
            values[argument] = name.rsplit(":", 1)[1]
        elif argument in BY_NAME:
            label, attribute = BY_NAME[argument]
            values[argument] = getattr(world.row(label, side), attribute)
        elif argument == "#2":  # simple_history's past version of the object
            row = world.row(_label(name, pattern), side)
            values[argument] = row.history.order_by("-history_id").first().history_id
        else:
            row = world.row(_label(name, pattern), side)
            attribute = argument if argument in ("code", "number") else "pk"
            values[argument] = getattr(row, attribute)
    return values


def _requests() -> list[tuple[str, str, str]]:
    """(row name, method, pattern) for every route with arguments."""
    found = []
    for name, (pattern, entry) in sorted(object_routes().items()):
        if "app_label" in arguments(pattern):
            labels = pattern.split("(?P<app_label>")[1].split(")")[0].split("|")
            found += [(f"{name}:{label}", "get", pattern) for label in labels]
        elif actions := getattr(entry.callback, "actions", None):
            methods = [m for m in actions if m not in ("head", "options")]
            found += [(f"{name} {m.upper()}" if m != "get" else name, m, pattern) for m in methods]
        else:
            found.append((name, "get", pattern))
    return found


def _page_method(superuser, path: str) -> str:
    """A page (or an admin page) that does not offer GET is asked by POST."""
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return "post" if ask(client, "get", path).status_code == 405 else "get"


def observe(p1, p2, django_user_model) -> tuple[dict[str, str], set[str]]:
    """{row name: letters} and the names of the rows that take one site's row."""
    callers = make_callers(p1)
    world = make_world(p1, p2, callers)
    superuser = django_user_model.objects.create_superuser("root", password="pw")
    found, scoped = {}, set()
    for name, method, pattern in _requests():
        base = name.split(" ")[0]
        if _scoped(world, base, pattern):
            scoped.add(name)
        paths = {
            side: fill(pattern, _values(world, base, pattern, side)) for side in ("own", "other")
        }
        if not paths["own"].startswith("/api/"):
            method = _page_method(superuser, paths["own"])
        groups = []
        for role in ROLES:
            pair = ""
            for side in ("own", "other"):
                cache.clear()  # throttles: the matrix asks each route many times a minute
                response = ask(callers.client(role, paths[side]), method, paths[side])
                pair += status_letter(paths[side], response)
            groups.append(pair)
        groups.append(
            "".join(
                status_letter(
                    paths["own"], ask(callers.client(c, paths["own"]), method, paths["own"])
                )
                for c in ("anonymous", "expired", "revoked")
            )
        )
        found[name] = " ".join(groups)
    return found, scoped


@override_settings(ANDON_TOKEN_FAILURE_LIMIT=10**6)
def test_every_route_with_arguments_answers_as_the_table_says(
    p1, p2, django_user_model, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    found, scoped = observe(p1, p2, django_user_model)
    # Whatever the table says: no role but the auditor (who reads every site) reaches a row
    # of another site, whether to read it, to act on it or to be told its input was wrong.
    leaks = {
        f"{name} as {role}": letters.split(" ")[n][1]
        for name, letters in found.items()
        if name in scoped
        for n, role in enumerate(ROLES)
        if role != "auditor" and letters.split(" ")[n][1] not in "NRFAPU"
    }
    assert leaks == {}
    # A new route, or an answer that changed: the lines to put in EXPECTED (once right).
    columns = f"pairs (own, other) of {' '.join(ROLES)}; anonymous, expired, revoked"
    assert found == EXPECTED, f"{columns}\n{mismatches(found, EXPECTED)}"
