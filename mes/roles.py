"""Roles are Django groups; this table says which model permissions each role holds.

Site scope is separate: a role's permissions apply only at the sites the user was granted
(``mes.access.grant_site_access``). ``sync_roles`` is idempotent and is run by data migrations;
later apps extend ``ROLE_PERMISSIONS`` and add a migration that calls it again.
"""

from __future__ import annotations

ROLES = [
    "operator",
    "supervisor",
    "planner",
    "procurement",
    "quality",
    "maintenance",
    "customer_service",
    "manager",
    "auditor",
    "erp_integration",
]

_CORE_MODELS = [
    "site",
    "workcenter",
    "machine",
    "item",
    "workorder",
    "operation",
    "lot",
    "confirmation",
    "lotconsumption",
]
_VIEW_CORE = [f"mes.view_{m}" for m in _CORE_MODELS]
_ALL_CORE = [f"mes.{action}_{m}" for m in _CORE_MODELS for action in ("add", "change", "view")]

_EXC = "exceptions"
_EXC_VIEW = [
    f"{_EXC}.view_{m}"
    for m in ("exceptiontype", "exceptionticket", "decision", "attachment", "exceptionevent")
]
_EXC_WORK = [*_EXC_VIEW, f"{_EXC}.add_exceptionticket", f"{_EXC}.change_exceptionticket"]
_EXC_CONFIG = [
    f"{_EXC}.{action}_{m}"
    for m in (
        "exceptiontype",
        "workflow",
        "workflowstate",
        "workflowtransition",
        "routingrule",
        "slapolicy",
        "workingcalendar",
        "nonworkingday",
        "escalationpolicy",
        "escalationlevel",
    )
    for action in ("add", "change", "view")
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "operator": [*_VIEW_CORE, *_EXC_WORK, "mes.change_operation", "mes.add_confirmation"],
    "supervisor": [
        *_VIEW_CORE,
        *_EXC_WORK,
        "mes.change_operation",
        "mes.add_confirmation",
        "mes.change_workorder",
        "mes.resequence_workcenter",
    ],
    "planner": [
        *_VIEW_CORE,
        *_EXC_WORK,
        "mes.change_workorder",
        "mes.change_operation",
        "mes.resequence_workcenter",
    ],
    "procurement": [*_VIEW_CORE, *_EXC_WORK, "mes.add_lot"],
    "quality": [*_VIEW_CORE, *_EXC_WORK, "mes.change_lot"],
    "maintenance": [*_VIEW_CORE, *_EXC_WORK, "mes.change_machine"],
    "customer_service": [*_VIEW_CORE, *_EXC_WORK],
    "manager": [
        *_ALL_CORE,
        *_EXC_WORK,
        *_EXC_CONFIG,
        "mes.resequence_workcenter",
        "mes.view_outboxevent",
        "erp.view_erpendpoint",
        "erp.add_erpendpoint",
        "erp.change_erpendpoint",
        "erp.view_erpdelivery",
        "erp.change_erpdelivery",
        "auth.view_user",
        "auth.change_user",
        "auth.add_user",
        "auth.view_group",
    ],
    # Auditors read every site and change nothing: the global site permission, no writes.
    "auditor": [
        *_VIEW_CORE,
        *_EXC_VIEW,
        *[p for p in _EXC_CONFIG if ".view_" in p],
        "mes.access_site",
        "mes.view_outboxevent",
    ],
    "erp_integration": [
        *_VIEW_CORE,
        *_EXC_WORK,
        "mes.add_item",
        "mes.change_item",
        "mes.add_workcenter",
        "mes.change_workcenter",
        "mes.add_workorder",
        "mes.change_workorder",
        "mes.change_operation",
        "mes.add_lot",
        "mes.change_lot",
        "erp.ingest_erp",
        "erp.read_erp_feed",
    ],
}


# Everyone reads and marks read their own notifications (the API scopes them to the user).
for _perms in ROLE_PERMISSIONS.values():
    _perms += ["mes.view_notification", "mes.change_notification"]


def sync_roles(apps=None, schema_editor=None) -> None:
    """Create the role groups and give each exactly the permissions in ROLE_PERMISSIONS.

    Works with historical models inside a migration (``apps``) or the live registry.
    """
    from django.apps import apps as live_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or live_apps
    for app_config in registry.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=registry)
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    for role in ROLES:
        group, _ = group_model.objects.get_or_create(name=role)
        wanted = []
        for perm in ROLE_PERMISSIONS[role]:
            app_label, codename = perm.split(".", 1)
            found = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if found is not None:  # a permission of an app not migrated yet joins later
                wanted.append(found)
        group.permissions.set(wanted)
